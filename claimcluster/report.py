"""Human-readable outputs of a ClaimSet: plain text, Markdown and a self-contained HTML page.

JSON and Parquet come from :meth:`ClaimSet.to_json` and :meth:`ClaimSet.to_parquet`.
"""

from __future__ import annotations

import html
import json
from collections import Counter

from claimcluster.assertion import STANCES
from claimcluster.claims import Claim, ClaimSet

__all__ = ["render_text", "render_markdown", "render_html"]

_PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
)


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


_VERBS = {"repeats": "repeat it", "denies": "deny it", "reports": "report it without endorsing"}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _summary_line(claims: ClaimSet) -> str:
    reasons = Counter(r.reason.split(":")[0] for r in claims.rejected)
    dropped = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items())) or "none"
    return (
        f"{len(claims.claims)} claims from {claims.n_sentences} sentences in {claims.n_documents} documents; "
        f"{len(claims.unclustered)} sentences in no claim; left out: {dropped}"
    )


def render_text(claims: ClaimSet, *, max_claims: int | None = 20, max_members: int = 4, width: int = 100) -> str:
    """Claims that span the most outlets first, each with its representative and a few members."""
    lines = [_summary_line(claims), ""]
    shown = claims.claims if max_claims is None else claims.claims[:max_claims]
    for claim in shown:
        lines.append(
            f"claim {claim.id}: {_count(len(claim.outlets), 'outlet')}, {_count(len(claim.doc_ids), 'document')}, "
            f"{_count(claim.size, 'sentence')}, cohesion {claim.cohesion:.2f}"
        )
        lines.append(f"  \u201c{_clip(claim.representative.text, width)}\u201d  [{claim.representative.doc_id}]")
        by_stance = claim.outlets_by_stance()
        if by_stance:
            mixed = sum(len(counts) > 1 for counts in claim.stance_mix().values())
            lines.append("  outlets that " + ", ".join(f"{_VERBS[stance]}: {len(by_stance[stance])}"
                                                      for stance in STANCES if stance in by_stance)
                         + (f" (each counted once, by its main stance; {mixed} mixed)" if mixed else ""))
        others = [m for m in claim.members if m is not claim.representative]
        for member in others[:max_members]:
            tag = f"{member.stance:<7} " if member.stance else ""
            lines.append(f"    {member.similarity:.2f} {tag} {_clip(member.text, width - 18)}  [{member.doc_id}]")
        if len(others) > max_members:
            lines.append(f"    … and {len(others) - max_members} more")
        lines.append("")
    if max_claims is not None and len(claims.claims) > max_claims:
        lines.append(f"… {len(claims.claims) - max_claims} more claims (use --format json for all)")
    return "\n".join(lines).rstrip() + "\n"


def _md_cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render_markdown(claims: ClaimSet, *, max_members: int | None = None) -> str:
    """A Markdown report: summary, claims table, and each claim's members with provenance."""
    out = ["# Claims", "", _summary_line(claims), "", "| id | representative | outlets | documents | size | cohesion |",
           "|---:|---|---:|---:|---:|---:|"]
    for claim in claims.claims:
        out.append(
            f"| {claim.id} | {_md_cell(claim.representative.text)} | {len(claim.outlets)} | {len(claim.doc_ids)} "
            f"| {claim.size} | {claim.cohesion:.2f} |"
        )
    for claim in claims.claims:
        out += ["", f"## Claim {claim.id}", "", f"> {_md_cell(claim.representative.text)}", ""]
        members = claim.members if max_members is None else claim.members[:max_members]
        for m in members:
            stance = f" *{m.stance}*" if m.stance else ""
            out.append(f"- `{m.doc_id}` [{m.start}:{m.end}] ({m.similarity:.2f}){stance} {_md_cell(m.text)}")
    return "\n".join(out) + "\n"


def _map_points(claims: ClaimSet) -> list[dict]:
    points = []
    for claim in claims.claims:
        for m in claim.members:
            x, y = claims.layout.get((m.doc_id, m.position), (0.5, 0.5))
            points.append({"x": x, "y": y, "c": claim.id, "t": _clip(m.text, 140), "d": m.doc_id})
    for m in claims.unclustered:
        x, y = claims.layout.get((m.doc_id, m.position), (0.5, 0.5))
        points.append({"x": x, "y": y, "c": -1, "t": _clip(m.text, 140), "d": m.doc_id})
    return points


def _claim_row(claim: Claim) -> str:
    esc = html.escape
    members = "".join(
        f"<li><code>{esc(m.doc_id)}</code> <span class=off>[{m.start}:{m.end}]</span> "
        f"<span class=sim>{m.similarity:.2f}</span> <span class='st {esc(m.stance or '')}'>{esc(m.stance or '')}</span> "
        f"{esc(m.text)}</li>"
        for m in claim.members
    )
    colour = _PALETTE[claim.id % len(_PALETTE)]
    return (
        f"<tr><td><span class=dot style='background:{colour}'></span>{claim.id}</td>"
        f"<td><details><summary>{esc(claim.representative.text)}</summary><ul>{members}</ul></details></td>"
        f"<td>{len(claim.outlets)}</td><td>{_stance_cell(claim)}</td><td>{len(claim.doc_ids)}</td><td>{claim.size}</td>"
        f"<td>{claim.cohesion:.2f}</td></tr>"
    )


def _stance_cell(claim: Claim) -> str:
    by_stance = claim.outlets_by_stance()
    return " ".join(f"<span class='st {s}'>{s} {len(by_stance[s])}</span>" for s in STANCES if s in by_stance)


def render_html(claims: ClaimSet, *, title: str = "claimcluster report") -> str:
    """One self-contained HTML file: claims table with expandable members, and a 2-D sentence map."""
    rows = "\n".join(_claim_row(c) for c in claims.claims)
    points = json.dumps(_map_points(claims), ensure_ascii=False).replace("</", "<\\/")
    palette = json.dumps(_PALETTE)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body{{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}}
table{{border-collapse:collapse;width:100%}} td,th{{border-bottom:1px solid #ddd;padding:4px 8px;vertical-align:top;text-align:left}}
th{{background:#f4f4f4}} td:first-child{{white-space:nowrap}} summary{{cursor:pointer}} ul{{margin:.4em 0 .4em 1em;padding:0}} li{{margin:.2em 0}}
.off{{color:#888;font-size:12px}} .sim{{color:#555;font-variant-numeric:tabular-nums}}
.st{{font-size:12px;padding:0 4px;border-radius:3px}} .st.denies{{background:#fdd}} .st.repeats{{background:#dfd}} .st.reports{{background:#eef}}
.dot{{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:6px}}
#map{{border:1px solid #ccc;background:#fff}} #tip{{position:absolute;background:#fffbe6;border:1px solid #ccc;padding:4px;display:none;max-width:420px}}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(_summary_line(claims))}</p>
<h2>Sentence map</h2>
<p>Each dot is a sentence (first two principal components of its embedding), coloured by claim; grey = in no claim.</p>
<canvas id="map" width="900" height="500"></canvas><div id="tip"></div>
<h2>Claims</h2>
<table><thead><tr><th>id</th><th>representative (click for members)</th><th>outlets</th><th>stance (outlets)</th><th>documents</th><th>size</th><th>cohesion</th></tr></thead>
<tbody>
{rows}
</tbody></table>
<script>
const P={points}, C={palette};
const cv=document.getElementById('map'), g=cv.getContext('2d'), tip=document.getElementById('tip'), pad=20;
const X=p=>pad+p.x*(cv.width-2*pad), Y=p=>pad+(1-p.y)*(cv.height-2*pad);
for(const p of P){{g.beginPath();g.arc(X(p),Y(p),p.c<0?2.5:4,0,7);g.fillStyle=p.c<0?'#ccc':C[p.c%C.length];g.fill();}}
cv.onmousemove=e=>{{const r=cv.getBoundingClientRect(),mx=e.clientX-r.left,my=e.clientY-r.top;
let best=null,bd=64;for(const p of P){{const d=(X(p)-mx)**2+(Y(p)-my)**2;if(d<bd){{bd=d;best=p;}}}}
if(!best){{tip.style.display='none';return;}}tip.style.display='block';tip.style.left=(e.pageX+12)+'px';tip.style.top=(e.pageY+12)+'px';
tip.textContent=(best.c<0?'no claim':'claim '+best.c)+' · '+best.d+': '+best.t;}};
</script>
</body></html>
"""
