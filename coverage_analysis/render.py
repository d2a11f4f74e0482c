"""Pictures of the map: a PNG (matplotlib) and a self-contained interactive HTML page (canvas + inline JS).

The HTML page needs no network: the points are inlined as JSON (with `<`, `>` and `&` escaped so that
tool text cannot close the script element) and tooltips are set with `textContent`, never as markup.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from coverage_analysis.loading import PROBE, REAL, SIMULATED, Tool

if TYPE_CHECKING:
    import numpy as np

COLOURS = {REAL: "#1f77b4", SIMULATED: "#ff7f0e", PROBE: "#d62728"}


def labels_for(real_label: str, simulated_label: str) -> dict[str, str]:
    return {REAL: real_label, SIMULATED: simulated_label, PROBE: "probe"}


def write_png(path: Path, xy: np.ndarray, tools: Sequence[Tool], *, title: str, legend: dict[str, str],
              seed: int = 0) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib import patheffects
    from matplotlib.lines import Line2D

    kinds = np.array([t.kind for t in tools])
    points = np.flatnonzero(kinds != PROBE)
    # Shuffle the draw order so that neither set hides the other where they overlap.
    points = np.random.default_rng(seed).permutation(points)
    n = max(len(points), 1)
    size = float(np.clip(45000 / n, 2.5, 14))
    alpha = float(np.clip(6000 / n, 0.4, 0.8))
    fig, ax = plt.subplots(figsize=(12, 9), dpi=150)
    ax.scatter(xy[points, 0], xy[points, 1], s=size, c=[COLOURS[k] for k in kinds[points]], alpha=alpha,
               linewidths=0, rasterized=True)
    probes = np.flatnonzero(kinds == PROBE)
    if len(probes):
        ax.scatter(xy[probes, 0], xy[probes, 1], s=260, marker="*", c=COLOURS[PROBE], edgecolors="black",
                   linewidths=1.0, zorder=5)
        outline = [patheffects.withStroke(linewidth=3, foreground="white")]
        for i in probes:
            ax.annotate(tools[i].name, xy[i], xytext=(8, 8), textcoords="offset points", fontsize=11,
                        fontweight="bold", zorder=6, path_effects=outline,
                        arrowprops={"arrowstyle": "-", "color": "black", "lw": 0.8})
    counts = {k: int((kinds == k).sum()) for k in (REAL, SIMULATED, PROBE)}
    handles = [Line2D([], [], marker="o", linestyle="", markersize=9, color=COLOURS[k],
                      label=f"{legend[k]} ({counts[k]:,})") for k in (REAL, SIMULATED) if counts[k]]
    if counts[PROBE]:
        handles.append(Line2D([], [], marker="*", linestyle="", markersize=15, color=COLOURS[PROBE],
                              markeredgecolor="black", label=f"probe tools ({counts[PROBE]})"))
    ax.legend(handles=handles, loc="upper right", fontsize=11, framealpha=0.9)
    ax.set_title(title, fontsize=13)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def script_json(data: object) -> str:
    """JSON safe to inline in a <script> element."""
    return (json.dumps(data, ensure_ascii=False, separators=(",", ":"))
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def map_data(xy: np.ndarray, tools: Sequence[Tool], legend: dict[str, str], *, description_chars: int = 240) -> dict:
    kinds = [REAL, SIMULATED, PROBE]
    return {
        "kinds": [{"name": legend[k], "colour": COLOURS[k]} for k in kinds],
        "x": [round(float(v), 2) for v in xy[:, 0]],
        "y": [round(float(v), 2) for v in xy[:, 1]],
        "k": [kinds.index(t.kind) for t in tools],
        "n": [t.name for t in tools],
        "s": [t.server or t.domain or "" for t in tools],
        "d": [t.description if len(t.description) <= description_chars
              else t.description[: description_chars - 1] + "…" for t in tools],
    }


def write_html_map(path: Path, xy: np.ndarray, tools: Sequence[Tool], *, title: str, legend: dict[str, str]) -> None:
    import html

    page = MAP_TEMPLATE.replace("__TITLE__", html.escape(title)).replace(
        "__DATA__", script_json(map_data(xy, tools, legend)))
    path.write_text(page, encoding="utf-8")


MAP_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{margin:0;font:14px system-ui,sans-serif;background:#fff;color:#222;overflow:hidden}
 header{padding:8px 14px;border-bottom:1px solid #ddd;display:flex;gap:18px;align-items:center;flex-wrap:wrap}
 header h1{font-size:16px;margin:0}
 label{cursor:pointer;user-select:none} .sw{display:inline-block;width:11px;height:11px;border-radius:50%;margin:0 4px}
 #wrap{position:relative} canvas{display:block;width:100%;height:calc(100vh - 48px);cursor:crosshair}
 #tip{position:fixed;pointer-events:none;background:#fffffff0;border:1px solid #999;border-radius:6px;
  padding:6px 9px;max-width:420px;box-shadow:0 2px 8px #0003;display:none;font-size:13px;white-space:normal}
 #tip b{display:block} #tip i{color:#666;font-style:normal;font-size:12px} .hint{color:#777;font-size:12px}
</style></head><body>
<header><h1>__TITLE__</h1><span id="legend"></span>
<span class="hint">hover a point for the tool · scroll to zoom · drag to pan · double-click to reset</span></header>
<div id="wrap"><canvas id="c"></canvas></div><div id="tip"><b id="tn"></b><i id="ts"></i><div id="td"></div></div>
<script id="data" type="application/json">__DATA__</script>
<script>
"use strict";
const D=JSON.parse(document.getElementById("data").textContent), N=D.x.length;
const cv=document.getElementById("c"), cx=cv.getContext("2d"), tip=document.getElementById("tip");
const show=D.kinds.map(()=>true);
let minX=Math.min(...D.x),maxX=Math.max(...D.x),minY=Math.min(...D.y),maxY=Math.max(...D.y);
let view={s:1,tx:0,ty:0}, W=0, H=0, dpr=window.devicePixelRatio||1;
const lg=document.getElementById("legend");
D.kinds.forEach((k,i)=>{const c=D.k.filter(v=>v===i).length; if(!c) return;
 const l=document.createElement("label"), b=document.createElement("input"); b.type="checkbox"; b.checked=true;
 b.onchange=()=>{show[i]=b.checked; draw();}; const s=document.createElement("span"); s.className="sw";
 s.style.background=k.colour; l.append(b,s,document.createTextNode(k.name+" ("+c.toLocaleString()+")  "));
 lg.append(l);});
function base(i){const pad=30, sx=(W-2*pad)/((maxX-minX)||1), sy=(H-2*pad)/((maxY-minY)||1), s=Math.min(sx,sy);
 return [pad+(D.x[i]-minX)*s+(W-2*pad-(maxX-minX)*s)/2, pad+(maxY-D.y[i])*s+(H-2*pad-(maxY-minY)*s)/2];}
function pos(i){const p=base(i); return [p[0]*view.s+view.tx, p[1]*view.s+view.ty];}
const order=[...Array(N).keys()].sort((a,b)=>(D.k[a]===2)-(D.k[b]===2)||((a*2654435761)%N)-((b*2654435761)%N));
function star(x,y,r){cx.beginPath(); for(let j=0;j<10;j++){const a=Math.PI/5*j-Math.PI/2, q=j%2?r/2.2:r;
 cx.lineTo(x+q*Math.cos(a),y+q*Math.sin(a));} cx.closePath(); cx.fill(); cx.stroke();}
function draw(){W=cv.clientWidth; H=cv.clientHeight; cv.width=W*dpr; cv.height=H*dpr; cx.setTransform(dpr,0,0,dpr,0,0);
 cx.clearRect(0,0,W,H); const r=Math.max(1.4,Math.min(4,900/Math.sqrt(N)/10))*Math.sqrt(view.s);
 cx.globalAlpha=N>3000?0.5:0.75;
 for(const i of order){ if(!show[D.k[i]]||D.k[i]===2) continue; const p=pos(i); cx.fillStyle=D.kinds[D.k[i]].colour;
  cx.beginPath(); cx.arc(p[0],p[1],r,0,6.2832); cx.fill(); }
 cx.globalAlpha=1; cx.strokeStyle="#000"; cx.lineWidth=1; cx.font="bold 13px system-ui,sans-serif";
 for(let i=0;i<N;i++){ if(D.k[i]!==2||!show[2]) continue; const p=pos(i); cx.fillStyle=D.kinds[2].colour;
  star(p[0],p[1],10); cx.lineWidth=3; cx.strokeStyle="#fff"; cx.strokeText(D.n[i],p[0]+12,p[1]-8);
  cx.fillStyle="#000"; cx.fillText(D.n[i],p[0]+12,p[1]-8);
  cx.strokeStyle="#000"; cx.lineWidth=1; }}
let drag=null;
cv.addEventListener("mousemove",e=>{const r=cv.getBoundingClientRect(), mx=e.clientX-r.left, my=e.clientY-r.top;
 if(drag){view.tx+=mx-drag[0]; view.ty+=my-drag[1]; drag=[mx,my]; draw(); return;}
 let best=-1, bd=144; for(let i=0;i<N;i++){ if(!show[D.k[i]]) continue; const p=pos(i), d=(p[0]-mx)**2+(p[1]-my)**2;
  if(d<bd){bd=d; best=i;}}
 if(best<0){tip.style.display="none"; return;}
 document.getElementById("tn").textContent=D.n[best]+"  ["+D.kinds[D.k[best]].name+"]";
 document.getElementById("ts").textContent=D.s[best]; document.getElementById("td").textContent=D.d[best];
 tip.style.display="block"; tip.style.left=Math.min(e.clientX+14, window.innerWidth-440)+"px";
 tip.style.top=Math.min(e.clientY+14, window.innerHeight-tip.offsetHeight-8)+"px";});
cv.addEventListener("mouseleave",()=>{tip.style.display="none"; drag=null;});
cv.addEventListener("mousedown",e=>{const r=cv.getBoundingClientRect(); drag=[e.clientX-r.left,e.clientY-r.top];});
window.addEventListener("mouseup",()=>{drag=null;});
cv.addEventListener("wheel",e=>{e.preventDefault(); const r=cv.getBoundingClientRect(), mx=e.clientX-r.left,
 my=e.clientY-r.top, f=e.deltaY<0?1.25:0.8; view.tx=mx-(mx-view.tx)*f; view.ty=my-(my-view.ty)*f;
 view.s*=f; draw();},{passive:false});
cv.addEventListener("dblclick",()=>{view={s:1,tx:0,ty:0}; draw();});
window.addEventListener("resize",draw); draw();
</script></body></html>
"""
