package report

// baseCSS is the stylesheet of every stormtest page, so the run report and the capacity page
// look alike. It avoids "<" and "&", which would break the pages' well-formedness.
const baseCSS = `body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; margin: 16px auto; max-width: 1360px; padding: 0 12px; }
h1 { font-size: 20px; margin: 4px 0 12px; }
h2 { font-size: 16px; margin: 22px 0 2px; }
.runs { display: flex; gap: 12px; flex-wrap: wrap; }
.run { flex: 1 1 420px; border-radius: 6px; padding: 10px 14px; border: 2px solid #999; background: #f7f7f7; }
.run.stable { border-color: #2ca02c; background: #eef8ee; }
.run.overloaded { border-color: #e6a100; background: #fdf6e3; }
.run.metastable { border-color: #d62728; background: #fcecec; }
.run.down { border-color: #7f1d1d; background: #f6e4e4; }
.run.inconclusive { border-color: #7f7f7f; background: #f2f2f2; }
.verdict { font-size: 22px; font-weight: 700; text-transform: uppercase; letter-spacing: .03em; }
.run.stable .verdict { color: #1d7a1d; }
.run.overloaded .verdict { color: #a66f00; }
.run.metastable .verdict { color: #b01c1c; }
.run.down .verdict { color: #7f1d1d; }
.run.inconclusive .verdict { color: #555; }
.headline { font-size: 15px; font-weight: 600; margin: 2px 0 6px; }
.run ul { margin: 4px 0; padding-left: 20px; }
.warn { color: #8a5a00; }
.facts { display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 13px; color: #444; margin: 6px 0; }
.facts b { color: #222; }
table { border-collapse: collapse; font-size: 12px; margin-top: 6px; }
td, th { padding: 2px 6px; text-align: right; border-bottom: 1px solid #ddd; white-space: nowrap; }
.runtitle { font-size: 13px; color: #444; font-weight: 600; }
td:first-child, th:first-child { text-align: left; }
.caption { color: #555; margin: 0 0 4px; font-size: 13px; }
.overlay { font-weight: 600; margin: 8px 0 0; }
svg.chart { width: 100%; height: auto; display: block; font-family: system-ui, sans-serif; }
svg .area { fill: #ffffff; stroke: #bbb; }
svg .grid { stroke: #000; stroke-opacity: .08; }
svg .tick { font-size: 11px; fill: #555; }
svg .axis { font-size: 12px; fill: #333; }
svg .legend { font-size: 12px; fill: #222; }
svg .band { font-size: 11px; fill: #666; }
svg .mark { font-size: 11px; font-weight: 600; }
svg .empty { font-size: 16px; fill: #999; }
`

// pageHead opens every stormtest page up to its stylesheet: the caller appends its CSS and
// closes the <style> element. It takes the page's .Title.
const pageHead = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>{{.Title}}</title>
<style>
`
