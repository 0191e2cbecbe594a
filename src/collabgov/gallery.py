"""``figures/<site>/index.html``: the figure gallery for reviewers, in report order with the report's numbers:
every figure with its caption, the notebook and cell that made it, its files and checksums, its inputs."""

from __future__ import annotations

import json

from .html_parts import DRAFT_MARK, esc
from .i18n import label, labeller


def gallery(man: dict, lang: str) -> str:
    t = labeller("gallery", lang)
    figure_word = labeller("report", lang)("figure")
    cards = []
    for f in man["figures"]:
        inputs = "".join(
            f"<li><code>{esc(n)}</code> <code class='hash'>{esc(h)}</code></li>" for n, h in sorted(f["inputs"].items())
        )
        png, svg = f["files"]["png"], f["files"]["svg"]
        title = f"{figure_word} {f['number']} · {f['id']}" if f.get("number") else f["id"]
        cards.append(
            f"<section class='card' id='{esc(f['id'])}'><h2>{esc(title)}</h2>"
            f"<a href='{esc(png['path'])}'><img src='{esc(png['path'])}' alt='{esc(f['alt'])}'></a>"
            f"<p>{esc(f['caption'])} {esc(t('source'))}: {esc(f['source'])}</p>"
            f"<p>{esc(t('made_by'))}: <code>{esc(f['notebook'])}</code>, {esc(t('cell'))} {esc(f['cell'])} · "
            f"{esc(t('language'))}: {esc(f['lang'])}</p>"
            f"<p>{esc(t('files'))}: <a href='{esc(png['path'])}'>PNG</a> "
            f"<code class='hash'>{esc(png['sha256'])}</code> · "
            f"<a href='{esc(svg['path'])}'>SVG</a> <code class='hash'>{esc(svg['sha256'])}</code></p>"
            f"<details><summary>{esc(t('inputs'))}</summary><ul>{inputs}</ul></details></section>"
        )
    params = esc(json.dumps(man["parameters"], ensure_ascii=False, sort_keys=True, indent=1))
    draft = (
        f"<p class='draft'><strong>{esc(DRAFT_MARK)}</strong> · {esc(label('report.draft_banner', lang))}</p>"
        if man.get("draft")
        else ""
    )
    css = (
        "body{font-family:'DejaVu Sans',sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#111}"
        ".card{border-top:1px solid #999;padding:1em 0}.card img{max-width:100%;height:auto;display:block}"
        "code{font-size:.85em}.hash{word-break:break-all;color:#444}pre{white-space:pre-wrap}"
        ".draft{border:2px solid #111;padding:.5em 1em;font-size:1.1em}"
    )
    return (
        f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'>"
        f"<title>{esc(t('title', site=man['site']))}</title>"
        f"<style>{css}</style></head><body>{draft}<h1>{esc(t('title', site=man['site']))}</h1>"
        f"<p>{esc(t('intro', commit=man['commit'] or '–'))}</p>"
        f"<details><summary>{esc(t('parameters'))}</summary><pre><code>{params}</code></pre></details>"
        + "".join(cards)
        + "</body></html>\n"
    )
