/**
 * `npm run docs`: (1) rewrite the README's registry table from the registry (src/train/docs.ts),
 * then (2) build the documentation site in `site/`:
 *
 * - the API reference of the package's two exports (src/index.ts, src/node.ts) from their TSDoc,
 *   by TypeDoc (tools/docs: TypeDoc 0.28 with its own TypeScript 6, configured in
 *   tools/docs/typedoc.json; an undocumented export or any other warning fails the build);
 * - the guides, derived here from the README at build time: one page per `##` section, plus the
 *   `###` sections named in `OWN_PAGE`, plus docs/performance.md; written as TypeDoc
 *   project documents into build/docs-pages/ (ignored), never kept as a second copy in git;
 * - the JSON Schemas of results (schema/*.json → site/schema/), linked from every page that
 *   mentions result.json / summary.json;
 * - the playground (scripts/playground.ts → playground/dist → site/playground/);
 * - the latest local reproduction (runs/reproduce's HTML pages and result.json files, not its
 *   runs/ store → site/reproduce/), when runs/reproduce/index.html exists.
 *
 * Links to the pieces TypeDoc does not own are written `site:PATH` in the generated markdown
 * (TypeDoc leaves links with a scheme alone) and made relative to each HTML page at the end.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join, posix, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { registryTable } from "../src/train/docs.js";
import { buildPlayground } from "./playground.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const PAGES = join(ROOT, "build", "docs-pages"); // generated markdown (build/ is ignored)
const SITE = join(ROOT, "site");
const TYPEDOC = join(ROOT, "tools", "docs", "node_modules", "typedoc", "bin", "typedoc");
const CONFIG = join(ROOT, "tools", "docs", "typedoc.json");

/** `###` sections that get a page of their own (the rest stay inside their `##` section). */
const OWN_PAGE = [/^The family$/, /^What came out\b/];

// ---------------------------------------------------------------------------------------------
// 1. The registry table (the step `npm run docs` always had).

const readmeFile = join(ROOT, "README.md");
{
  const readme = readFileSync(readmeFile, "utf8");
  const re = /(<!-- registry:start -->\n)[\s\S]*?(\n<!-- registry:end -->)/;
  if (!re.test(readme)) throw new Error("README.md has no <!-- registry:start --> … <!-- registry:end --> markers");
  writeFileSync(readmeFile, readme.replace(re, (_m, a: string, b: string) => a + registryTable() + b));
  console.log("README.md: registry table updated");
}

// ---------------------------------------------------------------------------------------------
// 2. Guide pages from the README's sections.

/** A guide page: its file in build/docs-pages, its title (the navigation's), its h1, where it comes from, its markdown lines and the anchors it holds (GitHub's slug → TypeDoc's; "" for the page itself). */
type Page = { file: string; title: string; heading: string; source: string; lines: string[]; anchors: Map<string, string> };

/** GitHub's heading anchor (how links inside the README name a section). */
function githubSlug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

/** TypeDoc's heading anchor (its default theme's Slugger, lowercase; first use of a heading). */
function typedocSlug(heading: string): string {
  const s = heading.trim().replace(/[\u2000-\u206F\u2E00-\u2E7F\\'!"#$%&()*+,./:;<=>?@[\]^`{|}~]/g, "").replace(/\s/g, "-").replace(/--+/, "-");
  return (s || "_").toLocaleLowerCase();
}

const plainTitle = (h: string) => h.replace(/`/g, "").replace(/\s+/g, " ").trim();
const fileName = (n: number, title: string) => `${String(n).padStart(2, "0")}-${githubSlug(plainTitle(title).replace(/\(.*\)/, "")).replace(/-+/g, "-").replace(/^-|-$/g, "")}.md`;

/** Split markdown into heading-delimited chunks, ignoring `#` lines inside fenced code. */
function headings(lines: string[]): { line: number; level: number; text: string }[] {
  const out: { line: number; level: number; text: string }[] = [];
  let fence: string | null = null;
  lines.forEach((l, i) => {
    const f = /^\s*(```+|~~~+)/.exec(l);
    if (f) {
      if (fence === null) fence = f[1][0];
      else if (f[1][0] === fence) fence = null;
      return;
    }
    if (fence !== null) return;
    const h = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(l);
    if (h) out.push({ line: i, level: h[1].length, text: h[2] });
  });
  return out;
}

const readmeLines = readFileSync(readmeFile, "utf8").split("\n");
const hs = headings(readmeLines);
const firstSection = hs.find((h) => h.level === 2);
if (!firstSection) throw new Error("README.md has no ## sections to make guides from");

const pages: Page[] = [];
{
  // Page starts: every `##`, and every `###` named in OWN_PAGE.
  const starts = hs.filter((h) => h.level === 2 || (h.level === 3 && OWN_PAGE.some((re) => re.test(plainTitle(h.text)))));
  starts.forEach((h, i) => {
    const end = i + 1 < starts.length ? starts[i + 1].line : readmeLines.length;
    const body = readmeLines.slice(h.line + 1, end);
    const title = plainTitle(h.text);
    const page: Page = { file: fileName(pages.length + 1, title), title, heading: title, source: "README.md", lines: body, anchors: new Map() };
    // Headings inside the page move up so that the page's own heading is the h1.
    const shift = h.level - 1;
    let fence: string | null = null;
    page.lines = body.map((l) => {
      const f = /^\s*(```+|~~~+)/.exec(l);
      if (f) fence = fence === null ? f[1][0] : f[1][0] === fence ? null : fence;
      if (fence !== null || f) return l;
      const m = /^(#{1,6})(\s+.*)$/.exec(l);
      return m ? "#".repeat(Math.max(1, m[1].length - shift)) + m[2] : l;
    });
    page.anchors.set(githubSlug(h.text), "");
    pages.push(page);
  });
  // Anchors of the sub-headings, for links into the middle of a page.
  for (const h of hs) {
    if (starts.includes(h)) continue;
    const i = starts.findLastIndex((s) => s.line < h.line);
    if (i >= 0) pages[i].anchors.set(githubSlug(h.text), typedocSlug(plainTitle(h.text)));
  }
  const perf = readFileSync(join(ROOT, "docs", "performance.md"), "utf8").split("\n");
  const ph = headings(perf)[0];
  if (!ph || ph.level !== 1) throw new Error("docs/performance.md must start with a # heading");
  const perfPage: Page = { file: fileName(pages.length + 1, "Performance"), title: "Performance", heading: plainTitle(ph.text), source: "docs/performance.md", lines: perf.slice(0, ph.line).concat(perf.slice(ph.line + 1)), anchors: new Map() };
  for (const h of headings(perf).slice(1)) perfPage.anchors.set(githubSlug(h.text), typedocSlug(plainTitle(h.text)));
  pages.push(perfPage);
}

const reproduceIndex = join(ROOT, "runs", "reproduce", "index.html");
const haveReproduction = existsSync(reproduceIndex);
const SCHEMAS = readdirSync(join(ROOT, "schema")).filter((f) => f.endsWith(".json")).sort();

/** Where a README/doc link goes on the site; throws on a link to nothing. */
function siteLink(target: string, from: Page): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return target; // http:, mailto:, …
  const [path, anchor] = target.split("#", 2) as [string, string | undefined];
  const inPage = (p: Page) => {
    if (anchor === undefined) return "";
    const a = p.anchors.get(anchor);
    if (a === undefined) throw new Error(`${from.source}: the link ${target} names no heading of ${p.source}`);
    return a ? `#${a}` : "";
  };
  const byAnchor = (source: string) => {
    if (anchor === undefined) {
      const first = pages.find((q) => q.source === source);
      return source === "README.md" || !first ? "site:index.html" : first === from ? "#" : `./${first.file}`;
    }
    const p = pages.find((q) => q.source === source && q.anchors.has(anchor));
    if (!p) throw new Error(`${from.source}: the link ${target} names no heading of ${source}`);
    return p === from ? inPage(p) || "#" : `./${p.file}${inPage(p)}`;
  };
  if (path === "") return byAnchor(from.source);
  const repoPath = posix.normalize(posix.join(posix.dirname(from.source), decodeURI(path)));
  const abs = join(ROOT, repoPath);
  if (repoPath === "README.md" || repoPath === "docs/performance.md") return byAnchor(repoPath);
  if (repoPath.startsWith("schema/") && existsSync(abs)) return `site:${repoPath}`;
  if (repoPath === "runs/reproduce" || repoPath.startsWith("runs/reproduce/")) {
    const rest = repoPath.slice("runs/reproduce".length).replace(/^\//, "") || "index.html";
    if (!haveReproduction || !isPublished(rest)) return "";
    return `site:reproduce/${rest}${anchor ? "#" + anchor : ""}`;
  }
  if (repoPath === "playground" || repoPath.startsWith("playground/")) return "site:playground/index.html";
  if (!existsSync(abs)) throw new Error(`${from.source}: the link ${target} points to ${repoPath}, which does not exist`);
  if (!statSync(abs).isFile()) throw new Error(`${from.source}: the link ${target} points to the directory ${repoPath}; link a file`);
  // Any other file: TypeDoc copies it into site/media/ when the link resolves from the page.
  return relative(PAGES, abs).split(sep).join("/") + (anchor ? "#" + anchor : "");
}

/** runs/reproduce files that go on the site: the HTML pages and result.json, not runs/. */
function isPublished(rest: string): boolean {
  return !rest.startsWith("runs/") && (rest.endsWith(".html") || posix.basename(rest) === "result.json");
}

/** Rewrite the markdown links and `<a href>` / `<img src>` of a page, outside code. */
function rewrite(page: Page): string[] {
  let fence: string | null = null;
  return page.lines.map((l) => {
    const f = /^\s*(```+|~~~+)/.exec(l);
    if (f) fence = fence === null ? f[1][0] : f[1][0] === fence ? null : fence;
    if (fence !== null || f) return l;
    // Links (their labels may hold code spans) and code spans in one pass, left to right: a code
    // span outside a link label is left alone.
    const links = /(!?)\[((?:`[^`]*`|[^\]`])*)\]\(\s*<?([^)\s>]+)>?(\s+"[^"]*")?\s*\)|(`+[^`]*`+)/g;
    const withLinks = l.replace(links, (m, bang: string, label: string, target: string, title: string | undefined, code: string | undefined) => {
      if (code !== undefined) return m;
      const to = siteLink(target, page);
      return to === "" ? label : `${bang}[${label}](${to}${title ?? ""})`;
    });
    return withLinks
      .split(/(`+[^`]*`+)/)
      .map((part, i) => (i % 2 === 1 ? part : part.replace(/(<(?:a|img)\s[^>]*?(?:href|src)=")([^"]+)(")/g, (_m, a: string, target: string, b: string) => a + (siteLink(target, page) || "#") + b)))
      .join("");
  });
}

const mentionsResults = (p: Page) => p.lines.some((l) => /\b(result|summary)\.json\b|\bresult\.schema\b/.test(l));
const schemaLinks = () => SCHEMAS.map((s) => `[${s}](site:schema/${s})`).join(", ");

rmSync(PAGES, { recursive: true, force: true });
mkdirSync(PAGES, { recursive: true });
for (const p of pages) {
  const out = [`---`, `title: ${JSON.stringify(p.title)}`, `group: Guides`, `---`, "", `# ${p.heading}`, "", ...rewrite(p)];
  while (out.at(-1) === "") out.pop();
  const notes: string[] = [];
  if (/^What came out\b/.test(p.title)) {
    notes.push(
      haveReproduction
        ? "The latest reproduction made on the machine that built this site: [its index](site:reproduce/index.html) (each experiment's report.html and result.json)."
        : "This site was built without a local reproduction (`npm start` or `npx sharpness reproduce … --out runs/reproduce` makes one; `npm run docs` then publishes it).",
    );
  }
  if (mentionsResults(p)) notes.push(`JSON Schemas of the result files: ${schemaLinks()}.`);
  if (notes.length) out.push("", "---", "", ...notes.flatMap((n) => [n, ""]));
  out.push("", `<sub>Generated from \`${p.source}\` by \`npm run docs\`.</sub>`, "");
  writeFileSync(join(PAGES, p.file), out.join("\n"));
}

// The landing page: the README's introduction (TypeDoc heads it with the project's name), then
// the map of the site.
{
  const intro = readmeLines.slice(0, firstSection.line);
  const body = intro.slice(intro.findIndex((l) => /^#\s/.test(l)) + 1);
  const fake: Page = { file: "index.md", title: "index", heading: "", source: "README.md", lines: body, anchors: new Map() };
  const out = [
    ...rewrite(fake),
    "",
    "## Guides",
    "",
    ...pages.map((p) => `- [${p.title}](./${p.file})`),
    "",
    "## Reference and artifacts",
    "",
    "- The API reference: the modules [sharpness-aware](site:modules/sharpness-aware.html) (browser-safe) and [sharpness-aware/node](site:modules/sharpness-aware_node.html) (Node: data, trainer, sweeps, reports, checkpoints).",
    `- JSON Schemas of results: ${schemaLinks()}.`,
    "- [The playground](site:playground/index.html): SGD vs SAM side by side in the browser (wasm threads need a host that sends the COOP/COEP headers; without them it runs single-threaded).",
    haveReproduction ? "- [The latest reproduction](site:reproduce/index.html): one row per claim, each with its report and result.json." : "- No local reproduction was published with this build (see the “What came out” guide).",
    "",
  ];
  writeFileSync(join(PAGES, "index.md"), out.join("\n"));
}
console.log(`build/docs-pages: ${pages.length} guide pages from README.md and docs/performance.md`);

// ---------------------------------------------------------------------------------------------
// 3. TypeDoc: the API reference with the guides as project documents.

const td = spawnSync(process.execPath, [TYPEDOC, "--options", CONFIG], { cwd: ROOT, stdio: "inherit" });
if (td.status !== 0) {
  console.error(`typedoc failed (exit ${td.status ?? td.signal}): every export needs its TSDoc, and no warning is allowed`);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------
// 4. The pieces TypeDoc does not build: schemas, playground, reproduction.

mkdirSync(join(SITE, "schema"), { recursive: true });
for (const s of SCHEMAS) cpSync(join(ROOT, "schema", s), join(SITE, "schema", s));

const pg = await buildPlayground(join(ROOT, "playground", "dist"));
cpSync(pg.dir, join(SITE, "playground"), { recursive: true });

if (haveReproduction) {
  const src = join(ROOT, "runs", "reproduce");
  cpSync(src, join(SITE, "reproduce"), {
    recursive: true,
    filter: (f) => {
      const rest = relative(src, f).split(sep).join("/");
      if (rest === "") return true;
      if (rest === "runs" || rest.startsWith("runs/")) return false;
      return statSync(f).isDirectory() || isPublished(rest);
    },
  });
}

// `site:PATH` links → relative to each page.
const allFiles = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? allFiles(join(dir, e.name)) : [join(dir, e.name)]));
let pageCount = 0;
for (const f of allFiles(SITE)) {
  if (!f.endsWith(".html")) continue;
  pageCount++;
  const html = readFileSync(f, "utf8");
  if (!html.includes("site:")) continue;
  const up = relative(dirname(f), SITE).split(sep).join("/");
  const fixed = html.replace(/(href|src)="site:([^"]*)"/g, (_m, attr: string, path: string) => {
    const target = resolve(SITE, path.split("#")[0]);
    if (!existsSync(target)) throw new Error(`site/${relative(SITE, f)} links to site/${path}, which was not built`);
    return `${attr}="${up ? up + "/" : ""}${path}"`;
  });
  writeFileSync(f, fixed);
}
let bytes = 0;
const files = allFiles(SITE);
for (const f of files) bytes += statSync(f).size;
console.log(`site/: ${pageCount} HTML pages, ${files.length} files, ${(bytes / 2 ** 20).toFixed(1)} MiB${haveReproduction ? " (with runs/reproduce)" : ""}`);
