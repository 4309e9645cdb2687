/**
 * TypeDoc plugin: markdown-it's linkify without fuzzy links. The README's prose names files
 * (README.md, wsam.py, msam.py) that fuzzy linkify would turn into links to http://README.md;
 * URLs with a scheme (https://…) are still linked.
 */
import { Application } from "typedoc";

/** @param {import("typedoc").Application} app */
export function load(app) {
  app.on(Application.EVENT_BOOTSTRAP_END, () => {
    app.options.setValue("markdownItLoader", (md) => md.linkify.set({ fuzzyLink: false, fuzzyEmail: false }));
  });
}
