/**
 * The few chart shapes the experiment reports use, as Vega-Lite specs (rendered to SVG by
 * report/html.ts `vegaLiteToSvg`), and the HTML table helper. Browser-safe.
 */
import { esc } from "../report/html.js";

export type Row = Record<string, string | number | boolean | null>;

type Axis = { field: string; title: string; log?: boolean; domain?: [number, number] };

/**
 * Lines (one per `color` value) with optional points per row: `lines` rows are connected,
 * `points` rows are drawn as small dots (per-instance values), `rules` are horizontal references.
 */
export function lineChart(o: {
  title: string;
  x: Axis;
  y: Axis;
  color: { field: string; title: string; sort?: string[] };
  lines: Row[];
  points?: Row[];
  dash?: { field: string; title: string };
  width?: number;
  height?: number;
  vrules?: number[];
}): Record<string, unknown> {
  const scale = (a: Axis) => ({ ...(a.log ? { type: "log" } : { zero: false }), ...(a.domain ? { domain: a.domain, clamp: true } : {}) });
  const enc = {
    x: { field: o.x.field, type: "quantitative", title: o.x.title, scale: scale(o.x) },
    y: { field: o.y.field, type: "quantitative", title: o.y.title, scale: scale(o.y) },
    color: { field: o.color.field, type: "nominal", title: o.color.title, legend: { labelLimit: 360 }, ...(o.color.sort ? { sort: o.color.sort } : {}) },
  };
  const layers: Record<string, unknown>[] = [
    { data: { values: o.lines }, mark: { type: "line", point: o.lines.length < 200 }, encoding: { ...enc, ...(o.dash ? { strokeDash: { field: o.dash.field, type: "nominal", title: o.dash.title } } : {}) } },
  ];
  if (o.points?.length) layers.push({ data: { values: o.points }, mark: { type: "point", size: 14, opacity: 0.45 }, encoding: enc });
  if (o.vrules?.length) layers.push({ data: { values: o.vrules.map((x) => ({ x })) }, mark: { type: "rule", strokeDash: [4, 3], color: "#888" }, encoding: { x: { field: "x", type: "quantitative" } } });
  return { $schema: "https://vega.github.io/schema/vega-lite/v6.json", title: o.title, width: o.width ?? 420, height: o.height ?? 260, layer: layers };
}

/** Points with their 95% CI as bars (`value`, `lo`, `hi`), one per category of `x` in row order, and a dashed rule at 0. */
export function intervalChart(o: { title: string; x: { field: string; title: string }; y: { title: string }; rows: Row[]; width?: number; height?: number }): Record<string, unknown> {
  const x = { field: o.x.field, type: "nominal", title: o.x.title, sort: null, axis: { labelAngle: -30, labelLimit: 240 } };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: o.title,
    width: o.width ?? 420,
    height: o.height ?? 260,
    layer: [
      { data: { values: o.rows }, mark: { type: "rule" }, encoding: { x, y: { field: "lo", type: "quantitative", title: o.y.title, scale: { zero: false } }, y2: { field: "hi" } } },
      { data: { values: o.rows }, mark: { type: "point", filled: true, size: 60 }, encoding: { x, y: { field: "value", type: "quantitative" } } },
      { data: { values: [{ y: 0 }] }, mark: { type: "rule", strokeDash: [4, 3], color: "#888" }, encoding: { y: { field: "y", type: "quantitative" } } },
    ],
  };
}

/** An HTML table; `head` names the columns, cells are escaped. */
export function table(head: string[], rows: (string | number | null)[][]): string {
  const cell = (c: string | number | null) => `<td>${esc(c ?? "–")}</td>`;
  return `<table><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr>${rows.map((r) => `<tr>${r.map(cell).join("")}</tr>`).join("")}</table>`;
}

/** A number for tables: 4 significant digits, "–" when missing, "diverged" for null losses of diverged runs. */
export const num = (x: number | boolean | null | undefined, digits = 4): string => (typeof x === "number" && Number.isFinite(x) ? Number(x.toPrecision(digits)).toString() : x === null || x === undefined ? "–" : String(x));
