"""Build REFI-QDA project files (.qdpx) from the published schema (namespace urn:QDA-XML:project:1.0),
with the quirks of the tools that write them. SYNTHETIC content only: for tests and the demo site."""

from __future__ import annotations

import uuid
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

NS = "urn:QDA-XML:project:1.0"


def guid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "collabgov-test/" + name)).upper()


def build_qdpx(
    path: Path,
    *,
    sources: dict[str, str],
    codes: dict,
    codings: list[tuple],
    users=("Ana", "Budi"),
    cases: dict | None = None,
    tool: str = "refi",
    origin: str = "SYNTHETIC test tool",
) -> Path:
    """``codes``: nested dict name -> children dict. ``codings``: (source, start, end, user, [code paths]).

    tool: 'refi' (project.qde, sources/, internal:// paths), 'atlas' (qde named after the project,
    Sources/), 'maxqda' (CRLF line endings in the texts), 'inline' (PlainTextContent, no files),
    'bare' (plainTextPath as a bare file name)."""

    def code_xml(tree, prefix=""):
        out = []
        for name, children in tree.items():
            p = f"{prefix}/{name}" if prefix else name
            out.append(
                f'<Code guid={quoteattr(guid("code:" + p))} name={quoteattr(name)} isCodable="true">{"".join(code_xml(children, p))}</Code>'
            )
        return out

    texts = {name: (t.replace("\n", "\r\n") if tool == "maxqda" else t) for name, t in sources.items()}
    source_xml = []
    for name, text in texts.items():
        sels = []
        for i, (src, start, end, user, paths) in enumerate(codings):
            if src != name:
                continue
            refs = "".join(
                f"<Coding guid={quoteattr(guid(f'coding:{i}:{p}'))} creatingUser={quoteattr(guid('user:' + user))}>"
                f"<CodeRef targetGUID={quoteattr(guid('code:' + p))}/></Coding>"
                for p in paths
            )
            sels.append(
                f'<PlainTextSelection guid={quoteattr(guid(f"sel:{i}"))} name="s{i}" startPosition="{start}" endPosition="{end}" '
                f"creatingUser={quoteattr(guid('user:' + user))}>{refs}</PlainTextSelection>"
            )
        g = guid("source:" + name)
        if tool == "inline":
            body = f"<PlainTextContent>{escape(text)}</PlainTextContent>"
            attr = ""
        else:
            attr = f" plainTextPath={quoteattr(g + '.txt' if tool == 'bare' else 'internal://' + g + '.txt')}"
            body = ""
        source_xml.append(
            f"<TextSource guid={quoteattr(g)} name={quoteattr(name)}{attr}>{body}{''.join(sels)}</TextSource>"
        )
    case_xml, var_xml = [], []
    variables = sorted({k for attrs, _ in (cases or {}).values() for k in attrs})
    for v in variables:
        var_xml.append(
            f'<Variable guid={quoteattr(guid("var:" + v))} name={quoteattr(v)} isAssigned="true" typeOfVariable="Text"/>'
        )
    for name, (attrs, srcs) in (cases or {}).items():
        values = "".join(
            f"<VariableValue><VariableRef targetGUID={quoteattr(guid('var:' + k))}/><TextValue>{escape(v)}</TextValue></VariableValue>"
            for k, v in attrs.items()
        )
        refs = "".join(f"<SourceRef targetGUID={quoteattr(guid('source:' + s))}/>" for s in srcs)
        case_xml.append(f"<Case guid={quoteattr(guid('case:' + name))} name={quoteattr(name)}>{values}{refs}</Case>")
    users_xml = "".join(f"<User guid={quoteattr(guid('user:' + u))} name={quoteattr(u)}/>" for u in users)
    xml = (
        f'<?xml version="1.0" encoding="utf-8"?>\n<Project xmlns="{NS}" name="Synthetic demo" origin={quoteattr(origin)}>'
        f"<Users>{users_xml}</Users><CodeBook><Codes>{''.join(code_xml(codes))}</Codes></CodeBook>"
        f"<Variables>{''.join(var_xml)}</Variables><Cases>{''.join(case_xml)}</Cases><Sources>{''.join(source_xml)}</Sources></Project>"
    )
    qde = "Synthetic demo.qde" if tool == "atlas" else "project.qde"
    folder = "Sources" if tool == "atlas" else "sources"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(qde, xml)
        if tool != "inline":
            for name, text in texts.items():
                zf.writestr(f"{folder}/{guid('source:' + name)}.txt", text.encode("utf-8"))
    return path
