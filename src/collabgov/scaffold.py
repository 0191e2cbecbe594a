"""Start a new site: look the kecamatan up in the Kemendagri list, write templates for every table
(CSV or XLSX) with a bilingual data dictionary, and the report's text skeletons."""

from __future__ import annotations

import csv
import datetime
import difflib
import io
import shutil
from importlib import resources
from pathlib import Path

import yaml

from .errors import UsageError
from .sites import SLUG
from .tables import schema_descriptor

TABLES = ["cases", "codebook", "informants", "segments", "documents", "claims"]


def _norm(name: str) -> str:
    name = name.strip().lower()
    for prefix in ("kabupaten ", "kab. ", "kab ", "kota "):
        if name.startswith(prefix):
            return name[len(prefix) :].strip()
    return name


def lookup_region(kecamatan: str, kabupaten: str) -> dict:
    """Kecamatan + kabupaten -> names, province and Kemendagri code; unknown names get the closest matches."""
    from lokal import wilayah

    regencies = [k for p in wilayah.list_wilayah() for k in wilayah.list_wilayah(p.code)]
    hits = [k for k in regencies if _norm(k.name) == _norm(kabupaten)]
    if not hits:
        close = difflib.get_close_matches(_norm(kabupaten), [_norm(k.name) for k in regencies], n=5, cutoff=0.6)
        names = [k.name for k in regencies if _norm(k.name) in close]
        raise UsageError(
            f"unknown kabupaten/kota '{kabupaten}' in the Kemendagri list; closest: {', '.join(names) or 'none'}"
        )
    found, candidates = [], []
    for regency in hits:
        districts = wilayah.list_wilayah(regency.code)
        candidates += [(d, regency) for d in districts]
        found += [(d, regency) for d in districts if d.name.lower() == kecamatan.strip().lower()]
    if not found:
        names = [d.name for d, _ in candidates]
        close = difflib.get_close_matches(kecamatan.strip().title(), names, n=5, cutoff=0.5)
        where = " / ".join(r.name for r in hits)
        raise UsageError(
            f"unknown kecamatan '{kecamatan}' in {where}; closest: {', '.join(close) or 'none'} "
            f"(all {len(names)}: {', '.join(sorted(names))})"
        )
    if len(found) > 1:
        raise UsageError(f"'{kecamatan}' is ambiguous: {', '.join(d.path + ' (' + d.code + ')' for d, _ in found)}")
    district, regency = found[0]
    province = wilayah.get_wilayah(regency.code.split(".")[0])
    kind = "kota" if regency.type == "kota" or regency.name.startswith("Kota ") else "kabupaten"
    prefix = "Kota " if kind == "kota" else "Kabupaten "
    kab = regency.name[len(prefix) :] if regency.name.startswith(prefix) else regency.name
    villages = sorted(
        {v.type for v in wilayah.list_wilayah(district.code)} & {"kelurahan", "desa"}, key=["kelurahan", "desa"].index
    )
    return {
        "kecamatan": district.name,
        "kabupaten": kab,
        "kabupaten_kind": kind,
        "provinsi": province.name,
        "region_code": district.code,
        "village_kinds": villages or ["desa"],
    }


def template_rows(table: str, years: list[int]) -> list[list[str]]:
    """Header (and starter rows where useful) of the template for ``table``."""
    header = [f["name"] for f in schema_descriptor(table)["fields"]]
    if table == "codebook":
        text = resources.files("collabgov").joinpath("templates/codebook.csv").read_text("utf-8")
        return list(csv.reader(io.StringIO(text)))
    if table == "cases":
        return [header] + [[str(y), "", "", ""] for y in years]
    return [header]


def write_table(path: Path, rows: list[list[str]]) -> None:
    if path.suffix == ".xlsx":
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = path.stem
        for row in rows:
            ws.append([int(c) if c.isdigit() else c for c in row])
        stamp = datetime.datetime(2000, 1, 1)
        wb.properties.created = wb.properties.modified = stamp
        wb.save(path)
    else:
        with open(path, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh, lineterminator="\n").writerows(rows)


def data_dictionary() -> str:
    """Every table and column, in Indonesian and English, from the declared schemas."""
    lines = [
        "# Kamus data / Data dictionary",
        "",
        "Dibuat dari skema di `src/collabgov/schemas/`. Generated from the schemas in `src/collabgov/schemas/`.",
        "Baris 1 setiap tabel adalah judul kolom; nomor baris dalam pesan galat mengikuti nomor baris spreadsheet.",
        "Row 1 of every table is the header; row numbers in error messages are spreadsheet row numbers.",
        "",
    ]
    for table in TABLES:
        d = schema_descriptor(table)
        lines += [
            f"## `{table}.csv` / `{table}.xlsx`",
            "",
            f"- ID: {d.get('x-description-id', '')}",
            f"- EN: {d.get('description', '')}",
            "",
            "| kolom / column | jenis / type | wajib / required | keterangan (ID) | description (EN) |",
            "| --- | --- | --- | --- | --- |",
        ]
        for f in d["fields"]:
            c = f.get("constraints", {})
            kind = (
                f["type"]
                + (f" ≥ {c['minimum']}" if "minimum" in c else "")
                + (f"; {' / '.join(c['enum'])}" if "enum" in c else "")
                + ("; unik / unique" if c.get("unique") else "")
            )
            lines.append(
                f"| `{f['name']}` | {kind} | {'ya / yes' if c.get('required') else 'tidak / no'} | "
                f"{f.get('x-description-id', '')} | {f.get('description', '')} |"
            )
        lines.append("")
    return "\n".join(lines)


def site_yaml_reference() -> str:
    """docs/site_yaml.md: every key of site.yaml from the site schema, in Indonesian and English."""
    from .sites import site_schema

    lines = [
        "# site.yaml: setiap kunci / every key",
        "",
        "Dibuat dari skema `src/collabgov/schemas/site.schema.json` (`make templates`); skema itu juga yang dipakai",
        "`make validate` untuk memeriksa site.yaml. Kunci lain ditolak. Generated from the site schema, which",
        "`make validate` checks site.yaml against; any other key is refused.",
        "",
        "| kunci / key | wajib / required | yang diharapkan | keterangan | what it is |",
        "| --- | --- | --- | --- | --- |",
    ]

    def walk(node, path, required):
        for key, child in node.get("properties", {}).items():
            name = f"{path}.{key}" if path else key
            if key in ("id", "en") and path.count(".") >= 2:
                continue
            mark = "ya / yes" if key in required else "tidak / no"
            lines.append(
                f"| `{name}` | {mark} | {child.get('x-expected-id', '')} | "
                f"{child.get('x-description-id', '')} | {child.get('description', '')} |"
            )
            walk(child, name, set(child.get("required", [])))

    schema = site_schema()
    walk(schema, "", set(schema.get("required", [])))
    return "\n".join(lines)


def write_templates(folder: Path) -> None:
    """The project's ``templates/`` folder: every table as CSV and XLSX, plus the data dictionary."""
    folder.mkdir(parents=True, exist_ok=True)
    for table in TABLES:
        rows = template_rows(table, [2021, 2022])
        for suffix in (".csv", ".xlsx"):
            write_table(folder / f"{table}{suffix}", rows)
    (folder / "DATA_DICTIONARY.md").write_text(data_dictionary() + "\n", "utf-8")
    (folder.parent / "docs" / "site_yaml.md").write_text(site_yaml_reference() + "\n", "utf-8")


def new_site(
    root: Path,
    slug: str,
    kecamatan: str,
    kabupaten: str,
    years: list[int] | None = None,
    fmt: str = "csv",
    synthetic: bool = False,
) -> Path:
    if not SLUG.match(slug or ""):
        raise UsageError(f"site name {slug!r} is not allowed: use lower-case letters, digits, '-' and '_' (at most 40)")
    folder = root / "data" / slug
    if folder.exists():
        raise UsageError(f"data/{slug}/ exists already; choose another name or remove it first")
    if fmt not in ("csv", "xlsx"):
        raise UsageError("FORMAT must be csv or xlsx")
    if synthetic:
        region = {
            "kecamatan": kecamatan,
            "kabupaten": kabupaten,
            "kabupaten_kind": "kabupaten",
            "provinsi": "Contoh (sintetis)",
            "region_code": "00.00.00",
            "village_kinds": ["desa"],
        }
    else:
        region = lookup_region(kecamatan, kabupaten)
    this_year = datetime.date.today().year
    years = years or [this_year - 2, this_year - 1]
    params = region | {
        "years": years,
        "default_language": "id",
        "languages": ["id", "en"],
        "study": {
            "kind": "fieldwork",
            "title": "[TULIS: judul penelitian]",
            "year": this_year,
            "citation": "[TULIS: penulis (tahun). Judul. Lembaga.]",
        },
    }
    if synthetic:
        params["synthetic"] = True
    staging = root / "data" / f".{slug}.new"
    if staging.exists():
        shutil.rmtree(staging)
    (staging / "text").mkdir(parents=True)
    header = (
        f"# Parameters of site '{slug}'. Every notebook receives these through papermill.\n"
        "# region_code is the Kemendagri code (not the BPS code); keep it quoted.\n"
    )
    text = yaml.safe_dump(params, allow_unicode=True, sort_keys=False)
    text = text.replace(f"region_code: {params['region_code']}\n", f'region_code: "{params["region_code"]}"\n')
    text = text.replace(f"region_code: '{params['region_code']}'\n", f'region_code: "{params["region_code"]}"\n')
    (staging / "site.yaml").write_text(header + text, "utf-8")
    for table in TABLES:
        write_table(staging / f"{table}.{fmt}", template_rows(table, years))
    (staging / "DATA_DICTIONARY.md").write_text(data_dictionary() + "\n", "utf-8")
    texts = resources.files("collabgov").joinpath("templates/text")
    for lang in ("id", "en"):
        (staging / "text" / lang).mkdir()
        for item in texts.joinpath(lang).iterdir():
            (staging / "text" / lang / item.name).write_text(item.read_text("utf-8"), "utf-8")
    (staging / "README.md").write_text(
        f"# Site `{slug}`: Kecamatan {params['kecamatan']}, {params['kabupaten']}, {params['provinsi']}\n\n"
        + ("**SYNTHETIC**: made-up data for demonstration and tests.\n\n" if synthetic else "")
        + "Fill in the tables (see DATA_DICTIONARY.md), write the texts in text/id and text/en, record here\n"
        "where every number and every coded segment comes from, then run `make validate SITE=" + slug + "`.\n",
        "utf-8",
    )
    staging.rename(folder)
    return folder
