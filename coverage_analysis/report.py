"""`report.html`: one self-contained page tying the numbers, the curve, the regions, the probes and the map."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _pct(share: float) -> str:
    return f"{100 * share:.1f}%"


def curve_svg(real_curve: list[dict], sim_curve: list[dict], threshold: float, labels: tuple[str, str]) -> str:
    """A small line chart of coverage against threshold, both directions, with the threshold marked."""
    w, h, left, bottom, top, right = 560, 300, 50, 40, 15, 15
    xs = [p["threshold"] for p in real_curve]
    lo, hi = min(xs), max(xs)

    def px(t: float) -> float:
        return left + (t - lo) / ((hi - lo) or 1) * (w - left - right)

    def py(s: float) -> float:
        return h - bottom - s * (h - bottom - top)

    parts = [f'<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="coverage curve">',
             f'<rect x="{left}" y="{top}" width="{w - left - right}" height="{h - top - bottom}" fill="#fafafa" '
             'stroke="#ccc"/>']
    for s in (0, 0.25, 0.5, 0.75, 1):
        parts.append(f'<line x1="{left}" x2="{w - right}" y1="{py(s):.1f}" y2="{py(s):.1f}" stroke="#e5e5e5"/>'
                     f'<text x="{left - 6}" y="{py(s) + 4:.1f}" font-size="11" text-anchor="end">'
                     f'{int(s * 100)}%</text>')
    for t in xs[::2]:
        parts.append(f'<text x="{px(t):.1f}" y="{h - bottom + 16}" font-size="11" text-anchor="middle">{t:.2f}</text>')
    parts.append(f'<text x="{(left + w - right) / 2}" y="{h - 6}" font-size="12" text-anchor="middle">'
                 'cosine similarity threshold (nearest tool on the other side)</text>')
    parts.append(f'<line x1="{px(threshold):.1f}" x2="{px(threshold):.1f}" y1="{top}" y2="{h - bottom}" '
                 'stroke="#444" stroke-dasharray="4 3"/>')
    for curve, colour, label, dy in ((real_curve, "#1f77b4", labels[0], 0), (sim_curve, "#ff7f0e", labels[1], 16)):
        points = " ".join(f"{px(p['threshold']):.1f},{py(p['share']):.1f}" for p in curve)
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
        parts.append(f'<text x="{w - right - 8}" y="{top + 16 + dy}" font-size="12" text-anchor="end" '
                     f'fill="{colour}">{_e(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _region_rows(regions: list[dict]) -> str:
    rows = []
    for r in regions:
        groups = ", ".join(f"{g['group']} ({g['tools']})" for g in r["top_groups"])
        servers = ", ".join(f"{g['server']} ({g['tools']})" for g in r["top_servers"])
        groups = " · ".join(x for x in (groups, f"servers: {servers}" if servers else "") if x)
        examples = "".join(f"<li><code>{_e(x['name'])}</code> <span class=dim>{_e(x['server'] or x['domain'])}</span>"
                           f" — {_e(x['description'])}</li>" for x in r["examples"])
        rows.append(f"<tr><td class=num>{r['size']:,}<br><span class=dim>{_pct(r['share_of_exclusive'])}</span></td>"
                    f"<td><b>{_e(' · '.join(r['terms']) or '(no distinctive terms)')}</b>"
                    f"<div class=dim>{_e(groups)}</div></td><td><ul>{examples}</ul></td></tr>")
    return "".join(rows) or "<tr><td colspan=3>none: every tool of this side is covered</td></tr>"


def _probe_rows(probes: list[dict]) -> str:
    rows = []
    for p in probes:
        def names(items: list[dict]) -> str:
            return "<br>".join(f"{x['similarity']:.2f} <code>{_e(x['name'])}</code>"
                               f" <span class=dim>{_e(x.get('server') or '')}</span>" for x in items)
        rows.append(f"<tr><td><b>{_e(p['name'])}</b><div class=dim>{_e(p['description'])}</div></td>"
                    f"<td>{names(p['nearest_real'])}</td><td>{names(p['nearest_simulated'])}</td>"
                    f"<td class=num>{_pct(p['map_neighbours_real_share'])}</td></tr>")
    return "".join(rows)


def write_report(path: Path, summary: dict[str, Any]) -> None:
    o = summary["overlap"]
    labels = (summary["labels"]["real"], summary["labels"]["simulated"])
    inputs = summary["inputs"]
    curve_rows = "".join(f"<tr><td>{a['threshold']:.2f}</td><td class=num>{_pct(a['share'])}</td>"
                         f"<td class=num>{_pct(b['share'])}</td></tr>"
                         for a, b in zip(o["real_curve"], o["simulated_curve"], strict=True))
    timings = "".join(f"<tr><td>{_e(k)}</td><td class=num>{v:.1f} s</td></tr>" for k, v in summary["timings_s"].items())
    sides = "".join(
        f"<tr><td>{_e(labels[i])}</td><td>{'<br>'.join(_e(f) for f in inputs[side]['files'])}</td>"
        + "".join(f"<td class=num>{inputs[side]['counts'][c]:,}</td>"
                  for c in ("loaded", "duplicates_dropped", "problems_skipped", "sampled_out", "analysed"))
        + "</tr>" for i, side in enumerate(("real", "simulated")))
    probes = (f"<h2>Probe tools</h2><p>Nearest tools in the embedding space; the last column is the share of "
              f"real tools among the probe's 10 nearest points on the map.</p><table><tr><th>probe</th>"
              f"<th>nearest {_e(labels[0])}</th><th>nearest {_e(labels[1])}</th><th>map: real share</th></tr>"
              f"{_probe_rows(summary['probes'])}</table>") if summary["probes"] else ""
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>GTM coverage report</title>
<style>
 body{{font:15px/1.45 system-ui,sans-serif;max-width:1180px;margin:24px auto;padding:0 20px;color:#222}}
 h1{{font-size:24px}} h2{{font-size:19px;margin-top:34px;border-bottom:1px solid #ddd;padding-bottom:4px}}
 table{{border-collapse:collapse;margin:10px 0;width:100%}} td,th{{border:1px solid #ddd;padding:5px 8px;
 vertical-align:top;text-align:left}} th{{background:#f4f4f4}} .num{{text-align:right;white-space:nowrap}}
 .dim{{color:#777;font-size:13px}} code{{font-size:13px;background:#f5f5f5;padding:0 3px;border-radius:3px}}
 .cards{{display:flex;gap:14px;flex-wrap:wrap}} .card{{border:1px solid #ddd;border-radius:8px;padding:12px 16px;
 min-width:240px}} .big{{font-size:30px;font-weight:600}} img{{max-width:100%;border:1px solid #eee}}
 ul{{margin:0;padding-left:18px}} .two{{display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start}}
</style></head><body>
<h1>GTM coverage report</h1>
<p>{_e(labels[0])}: <b>{o['real_total']:,}</b> tools · {_e(labels[1])}: <b>{o['simulated_total']:,}</b> tools ·
embedding model <code>{_e(summary['model']['name'])}</code> · similarity threshold <b>{o['threshold']:.2f}</b>
(cosine, nearest tool on the other side, measured in the embedding space).</p>
<div class=cards>
 <div class=card><div class=big>{_pct(o['real_covered_share'])}</div>of {_e(labels[0])}
  ({o['real_covered']:,}) have one of the {_e(labels[1])} at ≥ {o['threshold']:.2f}</div>
 <div class=card><div class=big>{_pct(o['simulated_covered_share'])}</div>of {_e(labels[1])}
  ({o['simulated_covered']:,}) have one of the {_e(labels[0])} at ≥ {o['threshold']:.2f}</div>
 <div class=card><div class=big>{o['real_nearest_similarity'].get('median', 0):.2f}</div>median similarity of one of the
  {_e(labels[0])} to the nearest of the {_e(labels[1])}</div>
</div>
<h2>Map</h2>
<p>t-SNE of the embeddings ({_e(summary['map']['method'])}); the overlap numbers above are not read from this
picture. <a href="map.html">Open the interactive map</a> (hover a point for the tool).</p>
<img src="map.png" alt="t-SNE map of real and simulated tools">
<h2>Coverage over thresholds</h2>
<div class=two>{curve_svg(o['real_curve'], o['simulated_curve'], o['threshold'], labels)}
<table style="width:auto"><tr><th>threshold</th><th>{_e(labels[0])} covered</th><th>{_e(labels[1])} covered</th></tr>
{curve_rows}</table></div>
<h2>Regions only the {_e(labels[0])} have</h2>
<p>Clusters of the {o['real_total'] - o['real_covered']:,} {_e(labels[0])} with none of the {_e(labels[1])} at
≥ {o['threshold']:.2f}: distinctive terms, dominant categories, and the tools nearest each cluster's centre.</p>
<table><tr><th>tools</th><th>terms · categories</th><th>examples</th></tr>
{_region_rows(summary['regions']['real_only'])}</table>
<h2>Regions only the {_e(labels[1])} have</h2>
<table><tr><th>tools</th><th>terms · categories</th><th>examples</th></tr>
{_region_rows(summary['regions']['simulated_only'])}</table>
{probes}
<h2>Inputs</h2>
<table><tr><th>side</th><th>files</th><th>loaded</th><th>duplicates dropped</th><th>broken, skipped</th>
<th>sampled out</th><th>analysed</th></tr>{sides}</table>
<p class=dim>Duplicates: same name and description after folding case and whitespace (the registry's
<code>package__name</code> qualification removed first). All numbers are in <code>summary.json</code>.</p>
<h2>Timings</h2><table style="width:auto">{timings}</table>
</body></html>
"""
    path.write_text(page, encoding="utf-8")
