"""Human-readable outputs of a ClaimSet: plain text, Markdown and a self-contained HTML page.

JSON and Parquet come from :meth:`ClaimSet.to_json` and :meth:`ClaimSet.to_parquet`.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from claimcluster.claims import STANCE_ORDER as STANCES
from claimcluster.claims import Claim, ClaimSet
from claimcluster.documents import published_at

if TYPE_CHECKING:
    from claimcluster.index import Match
    from claimcluster.store import ClaimMatch

__all__ = ["render_text", "render_markdown", "render_html", "render_matches", "render_timeline"]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _printable(text: str) -> str:
    """``text`` without control characters: an article's terminal escape sequences must not reach a terminal."""
    return _CONTROL.sub("", text)


def _clip(text: str, width: int) -> str:
    text = " ".join(_printable(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


_VERBS = {"repeats": "repeat it", "denies": "deny it", "reports": "report it without endorsing"}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _summary_line(claims: ClaimSet, totals: tuple[int, int, int] | None = None) -> str:
    reasons = Counter(r.reason.split(":")[0] for r in claims.rejected)
    dropped = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items())) or "none"
    n_claims, n_sentences, n_unclustered = totals or (len(claims.claims), claims.n_sentences, len(claims.unclustered))
    return (
        f"{n_claims} claims from {n_sentences} sentences in {claims.n_documents} documents; "
        f"{n_unclustered} sentences in no claim; left out: {dropped}"
    )


def render_text(claims: ClaimSet, *, max_claims: int | None = 20, max_members: int = 4, width: int = 100,
                totals: tuple[int, int, int] | None = None) -> str:
    """Claims that span the most outlets first, each with its representative and a few members.

    ``totals`` (claims, sentences, unclustered sentences) describe the whole set when ``claims``
    holds only its first claims (a store's ``show`` reads no more than it prints)."""
    lines = [_summary_line(claims, totals), *(f"warning: {w}" for w in claims.warnings), ""]
    shown = claims.claims if max_claims is None else claims.claims[:max_claims]
    for claim in shown:
        lines.append(
            f"claim {claim.id}: {_count(len(claim.outlets), 'outlet')}, {_count(len(claim.doc_ids), 'document')}, "
            f"{_count(claim.size, 'sentence')}, cohesion {claim.cohesion:.2f}"
            + (f", carried in {', '.join(claim.languages)}" if len(claim.languages) > 1 else "")
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
    n_claims = totals[0] if totals else len(claims.claims)
    if max_claims is not None and n_claims > max_claims:
        lines.append(f"… {n_claims - max_claims} more claims (use --format json for all)")
    return "\n".join(lines).rstrip() + "\n"


def _md_cell(text: str) -> str:
    """Article text as plain Markdown text: no raw HTML, no link syntax (a ``javascript:`` link stays text)."""
    text = html.escape(" ".join(_printable(text).split()), quote=False)
    return re.sub(r"([\\`*_\[\]|])", r"\\\1", text)


def render_markdown(claims: ClaimSet, *, max_members: int | None = None) -> str:
    """A Markdown report: summary, claims table, and each claim's members with provenance."""
    out = ["# Claims", "", _summary_line(claims), "", *(f"> warning: {w}\n" for w in claims.warnings),
           "| id | representative | outlets | documents | size | cohesion | languages |",
           "|---:|---|---:|---:|---:|---:|---|"]
    for claim in claims.claims:
        out.append(
            f"| {claim.id} | {_md_cell(claim.representative.text)} | {len(claim.outlets)} | {len(claim.doc_ids)} "
            f"| {claim.size} | {claim.cohesion:.2f} | {', '.join(claim.languages)} |"
        )
    for claim in claims.claims:
        out += ["", f"## Claim {claim.id}", "", f"> {_md_cell(claim.representative.text)}", ""]
        members = claim.members if max_members is None else claim.members[:max_members]
        for m in members:
            stance = f" *{m.stance}*" if m.stance else ""
            language = f" {m.language}" if m.language else ""
            out.append(f"- `{m.doc_id}` [{m.start}:{m.end}] ({m.similarity:.2f}){stance}{language} {_md_cell(m.text)}")
    return "\n".join(out) + "\n"


_MATRIX_CLAIMS = 20
_MATRIX_OUTLETS = 15
_INITIAL = {"repeats": "R", "denies": "D", "reports": "r"}


def _day(member) -> str | None:
    """The member's publication day in UTC (YYYY-MM-DD), None when its date is missing or unreadable."""
    moment = published_at(member.published)
    return moment.date().isoformat() if moment is not None else None


def _member_item(m) -> str:
    esc = html.escape
    meta = " · ".join(x for x in (m.outlet, m.published) if x)
    # The member's language on its text (lang=...) lets the browser pick fonts, hyphenation and
    # quotes for it; the tag shows it.
    text = f"<span lang={esc(m.language)}>{esc(m.text)}</span> <span class=lang>{esc(m.language)}</span>" \
        if m.language else esc(m.text)
    return (f"<li><span class='st {esc(m.stance or '')}'>{esc(m.stance or '')}</span> "
            f"<span class=sim>{m.similarity:.2f}</span> {text} <span class=off>{esc(meta)} "
            f"<code>{esc(m.doc_id)}</code> [{m.start}:{m.end}]</span></li>")


def _sparkline(days: list[str], span: list[str]) -> str:
    """Members per day across the corpus's date span, as a small inline SVG."""
    if not days or not span:
        return ""
    counts = Counter(days)
    peak = max(counts.values())
    width = max(len(span), 1)
    bars = "".join(f"<rect x='{i}' y='{10 - 10 * counts[d] / peak:.1f}' width='1' height='{10 * counts[d] / peak:.1f}'/>"
                   for i, d in enumerate(span) if d in counts)
    return f"<svg class=spark viewBox='0 0 {width} 10' preserveAspectRatio='none'>{bars}</svg>"


def _claim_row(claim: Claim, span: list[str], widest: int) -> str:
    esc = html.escape
    days = sorted(d for d in (_day(m) for m in claim.members) if d)
    mixed = sum(len(c) > 1 for c in claim.stance_mix().values())
    search = " ".join([claim.representative.text, *(m.text for m in claim.members),
                       *(m.outlet or "" for m in claim.members)]).lower()
    by_stance = claim.outlets_by_stance()
    return (
        f"<tr data-id={claim.id} data-outlets={len(claim.outlets)} data-docs={len(claim.doc_ids)} "
        f"data-size={claim.size} data-cohesion={claim.cohesion:.3f} data-first='{days[0] if days else ''}' "
        f"data-stances='{' '.join(by_stance)}' data-languages='{esc(' '.join(claim.languages))}' "
        f"data-text='{esc(search)}'>"
        f"<td>{claim.id}</td>"
        f"<td><details><summary>{esc(claim.representative.text)} <span class=off>"
        f"{esc(claim.representative.outlet or claim.representative.doc_id)}</span></summary>"
        f"<ul>{''.join(_member_item(m) for m in claim.members)}</ul></details></td>"
        f"<td class=num><span class=bar style='width:{60 * len(claim.outlets) / max(widest, 1):.0f}px'></span>"
        f"{len(claim.outlets)}</td><td>{_stance_cell(by_stance)}{f' <span class=off>{mixed} mixed</span>' if mixed else ''}"
        f"</td><td>{len(claim.doc_ids)}</td><td>{claim.size}</td><td>{claim.cohesion:.2f}</td>"
        f"<td>{esc(', '.join(claim.languages))}</td>"
        f"<td>{days[0] if days else ''}{' – ' + days[-1] if days and days[-1] != days[0] else ''}"
        f"{_sparkline(days, span)}</td></tr>"
    )


def _stance_cell(by_stance: dict[str, list[str]]) -> str:
    return " ".join(f"<span class='st {s}'>{s} {len(by_stance[s])}</span>" for s in STANCES if s in by_stance)


def _matrix(claims: ClaimSet) -> str:
    """The most widespread claims against the outlets that carry most claims: each cell is the
    outlet's main stance toward the claim (R repeats, D denies, r reports)."""
    top = claims.claims[:_MATRIX_CLAIMS]
    carried = Counter(o for c in top for o in c.outlets)
    outlets = [o for o, _ in carried.most_common(_MATRIX_OUTLETS)]
    if not top or not outlets:
        return ""
    esc = html.escape
    head = "".join(f"<th class=vert><span>{esc(_clip(o, 28))}</span></th>" for o in outlets)
    rows = []
    for claim in top:
        stances = claim.outlet_stances()
        cells = "".join(f"<td class='cell {stances.get(o, '')}'>{_INITIAL.get(stances.get(o, ''), '')}</td>"
                        for o in outlets)
        rows.append(f"<tr><td class=rep title='{esc(claim.representative.text)}'>{claim.id} · "
                    f"{esc(_clip(claim.representative.text, 70))}</td>{cells}</tr>")
    return (f"<h2>Who carries what</h2><p class=off>The {len(top)} most widespread claims against the {len(outlets)} "
            f"outlets that carry most of them; a cell is the outlet's main stance (R repeats, D denies, r reports)."
            f"</p><table class=matrix><thead><tr><th></th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def render_html(claims: ClaimSet, *, title: str = "claimcluster report") -> str:
    """One self-contained HTML file (no server, no CDN): who carries which claim, then every claim
    with its members (outlet, date, stance), searchable, filterable and sortable."""
    all_days = sorted({d for c in claims.claims for d in (_day(m) for m in c.members) if d})
    span = _date_span(all_days)
    widest = max((len(c.outlets) for c in claims.claims), default=1)
    rows = "\n".join(_claim_row(c, span, widest) for c in claims.claims)
    warnings = "".join(f"<p class=warn>warning: {html.escape(w)}</p>" for w in claims.warnings)
    languages = Counter(lang for c in claims.claims for lang in c.languages)
    options = "".join(f"<option value={html.escape(lang)}>carried in {html.escape(lang)}</option>"
                      for lang, _ in languages.most_common())
    return _PAGE.format(title=html.escape(title), summary=html.escape(_summary_line(claims)), warnings=warnings,
                        matrix=_matrix(claims), rows=rows, n=len(claims.claims), languages=options)


def _date_span(days: list[str]) -> list[str]:
    """Every day from the first to the last (at most ten years), for the timelines."""
    import datetime as dt

    if not days:
        return []
    first, last = dt.date.fromisoformat(days[0]), dt.date.fromisoformat(days[-1])
    n = min((last - first).days, 3660) + 1
    return [(first + dt.timedelta(days=i)).isoformat() for i in range(n)]


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body{{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}}
table{{border-collapse:collapse}} #claims{{width:100%}} td,th{{border-bottom:1px solid #ddd;padding:4px 8px;vertical-align:top;text-align:left}}
th{{background:#f4f4f4}} #claims th{{cursor:pointer;white-space:nowrap}} summary{{cursor:pointer}}
ul{{margin:.4em 0 .4em 1em;padding:0}} li{{margin:.25em 0}}
.off{{color:#777;font-size:12px}} .sim{{color:#555;font-variant-numeric:tabular-nums}} .warn{{background:#fff4d6;padding:4px 8px}}
.st{{font-size:12px;padding:0 4px;border-radius:3px}} .st.denies{{background:#fdd}} .st.repeats{{background:#dfd}} .st.reports{{background:#e6e9ff}}
.lang{{font-size:11px;color:#555;border:1px solid #ccc;border-radius:3px;padding:0 3px}}
.bar{{display:inline-block;height:8px;background:#8ab;margin-right:6px}} td.num{{white-space:nowrap}} .spark{{display:block;width:120px;height:14px;fill:#579}}
.matrix td.cell{{width:18px;text-align:center;font-size:12px;padding:2px}} .cell.repeats{{background:#cfc}} .cell.denies{{background:#fbb}} .cell.reports{{background:#dde}}
.matrix td.rep{{white-space:nowrap;font-size:12px}} th.vert{{height:140px;vertical-align:bottom;padding:2px}} th.vert span{{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal;font-size:12px}}
#controls{{margin:1em 0;display:flex;gap:1em;align-items:center}} #q{{width:24em;padding:3px}}
</style></head><body>
<h1>{title}</h1>
<p>{summary}</p>
{warnings}
{matrix}
<h2>Claims</h2>
<div id=controls><input id=q type=search placeholder="search claims, members, outlets">
<label>stance <select id=stance><option value="">any</option><option value=denies>denied by some outlet</option>
<option value=reports>reported without endorsing</option></select></label>
<label>language <select id=lang><option value="">any</option><option value="*">in more than one</option>{languages}</select></label>
<label>at least <input id=minout type=number min=1 value=1 style="width:4em"> outlets</label>
<span id=shown class=off></span></div>
<table id=claims><thead><tr><th data-key=id>id</th><th>representative (click for members)</th><th data-key=outlets>outlets ▾</th>
<th>stance (outlets, each once)</th><th data-key=docs>documents</th><th data-key=size>size</th><th data-key=cohesion>cohesion</th>
<th>languages</th><th data-key=first>seen</th></tr></thead>
<tbody>
{rows}
</tbody></table>
<script>
const body=document.querySelector('#claims tbody'), rows=[...body.rows], q=document.getElementById('q'),
  stance=document.getElementById('stance'), minout=document.getElementById('minout'), shown=document.getElementById('shown'),
  lang=document.getElementById('lang');
function filter(){{const t=q.value.toLowerCase().trim(), s=stance.value, m=+minout.value||1, l=lang.value; let n=0;
  for(const r of rows){{const ls=r.dataset.languages.split(' ').filter(x=>x);
    const ok=(!t||r.dataset.text.includes(t))&&(!s||r.dataset.stances.split(' ').includes(s))&&(+r.dataset.outlets>=m)
      &&(!l||(l==='*'?ls.length>1:ls.includes(l)));
    r.style.display=ok?'':'none'; n+=ok;}} shown.textContent=n+' of {n} claims';}}
let last=null, dir=-1;
for(const th of document.querySelectorAll('#claims th[data-key]')) th.onclick=()=>{{const k=th.dataset.key;
  dir=(last===k)?-dir:(k==='id'||k==='first'?1:-1); last=k;
  rows.sort((a,b)=>{{const x=a.dataset[k], y=b.dataset[k], nx=+x, ny=+y;
    return dir*((isNaN(nx)||isNaN(ny))?x.localeCompare(y):nx-ny);}});
  for(const r of rows) body.appendChild(r);}};
q.oninput=stance.onchange=lang.onchange=minout.oninput=filter; filter();
</script>
</body></html>
"""


def render_matches(query: str, matches: Sequence[Match | ClaimMatch]) -> str:
    """A query and its matches, one line each (two for a store's claim: the representative, then the member
    that matched), with the assessment when the matches were assessed; "no known claim" for none."""
    from claimcluster.store import ClaimMatch

    lines = [f"query: {query}"]
    if not matches:
        lines.append("  no known claim")
    for m in matches:
        relation = f"  {m.relation()}" if m.stance is not None else ""
        if isinstance(m, ClaimMatch):
            lines.append(f"  {m.rank}. claim {m.claim_id} ({m.score:.3f}){relation}: {_printable(m.representative)}\n"
                         f"       via [{m.matched_doc_id}] {_printable(m.matched_text)}")
        else:
            lines.append(f"  {m.rank}. [{m.id}] {m.score:.3f}{relation}  {_printable(m.text)}")
    return "\n".join(lines) + "\n"


def render_timeline(claim: Claim, spread: dict[str, Any], timeline: Sequence[dict[str, Any]]) -> str:
    """One claim with its spread (first and last seen, outlets) and its timeline, a line per member; ``*`` marks
    an outlet's first carrying of the claim."""
    lines = [f"claim {claim.id}: {_printable(claim.representative.text)}",
             f"  first seen {spread['first_seen']} in {spread['first_outlet']}; last seen {spread['last_seen']}; "
             f"{len(spread['outlets'])} outlets"]
    for entry in timeline:
        mark = "*" if entry["first_for_outlet"] else " "
        unread = f" (date {entry['published']!r} not readable)" if entry.get("published") and not entry["dated"] else ""
        lines.append(f"  {mark} {_printable(entry['when']):<12} [{entry['doc_id']}] {_printable(entry['text'])}"
                     + _printable(unread))
    return "\n".join(lines) + "\n"
