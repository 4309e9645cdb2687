/** `npm run docs`: rewrite the README's registry table from the registry (src/train/docs.ts). */
import { readFileSync, writeFileSync } from "node:fs";
import { registryTable } from "../src/train/docs.js";

const file = new URL("../../README.md", import.meta.url);
const readme = readFileSync(file, "utf8");
const re = /(<!-- registry:start -->\n)[\s\S]*?(\n<!-- registry:end -->)/;
if (!re.test(readme)) throw new Error("README.md has no <!-- registry:start --> … <!-- registry:end --> markers");
writeFileSync(file, readme.replace(re, (_m, a: string, b: string) => a + registryTable() + b));
console.log("README.md: registry table updated");
