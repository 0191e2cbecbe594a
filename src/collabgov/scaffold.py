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

from . import tables
from .errors import UsageError
from .i18n import message
from .sites import SLUG, site_schema
from .tables import schema_descriptor

TABLES = ["cases", "codebook", "informants", "segments", "documents", "claims"]  # the tables a new site starts with
DICTIONARY_TABLES = TABLES + ["sources", "code_mapping"]  # and those an import adds


def _norm(name: str) -> str:
    name = name.strip().lower()
    for prefix in ("kabupaten ", "kab. ", "kab ", "kota "):
        if name.startswith(prefix):
            return name[len(prefix) :].strip()
    return name


def _kind_asked(name: str) -> str | None:
    name = name.strip().lower()
    if name.startswith("kota "):
        return "kota"
    if name.startswith(("kabupaten ", "kab. ", "kab ")):
        return "kabupaten"
    return None


def lookup_region(kecamatan: str, kabupaten: str) -> dict:
    """Kecamatan + kabupaten (or kota) -> names, kinds, province and Kemendagri code; unknown names get the
    closest matches. "Kota Bandung" and "Kabupaten Bandung" are told apart when the word is given."""
    from lokal import wilayah

    regencies = [k for p in wilayah.list_wilayah() for k in wilayah.list_wilayah(p.code)]
    asked = _kind_asked(kabupaten)
    hits = [
        k
        for k in regencies
        if _norm(k.name) == _norm(kabupaten) and (asked is None or k.name.lower().startswith(asked))
    ]
    if not hits:
        close = difflib.get_close_matches(_norm(kabupaten), [_norm(k.name) for k in regencies], n=5, cutoff=0.6)
        names = [k.name for k in regencies if _norm(k.name) in close]
        raise UsageError(message("kabupaten_unknown", "id", name=kabupaten, close=", ".join(names) or "–"), "id")
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
            message(
                "kecamatan_unknown",
                "id",
                name=kecamatan,
                where=where,
                close=", ".join(close) or "–",
                n=len(names),
                names=", ".join(sorted(names)),
            ),
            "id",
        )
    if len(found) > 1:
        raise UsageError(
            message(
                "kecamatan_ambiguous", "id", name=kecamatan, found="; ".join(f"{d.path} ({d.code})" for d, _ in found)
            ),
            "id",
        )
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


def actor_rows(village_kinds: list[str]) -> list[list[str]]:
    """Codebook rows for the actors a kecamatan of these kinds of village usually has (a start, to be edited)."""
    text = resources.files("collabgov").joinpath("templates/actors.csv").read_text("utf-8")
    actors = [r for r in csv.DictReader(io.StringIO(text)) if r["for"] == "all" or r["for"] in village_kinds]
    return [
        [
            a["code"],
            "",
            "actor",
            str(i),
            "true",
            a["label_id"],
            a["label_en"],
            a["definition_id"],
            a["definition_en"],
            "templat / template",
        ]
        for i, a in enumerate(actors, 1)
    ]


def template_rows(table: str, years: list[int], village_kinds: list[str] | None = None) -> list[list[str]]:
    """Header (and starter rows where useful) of the template for ``table``."""
    header = [f["name"] for f in schema_descriptor(table)["fields"]]
    if table == "codebook":
        text = resources.files("collabgov").joinpath("templates/codebook.csv").read_text("utf-8")
        return list(csv.reader(io.StringIO(text))) + actor_rows(village_kinds or ["kelurahan", "desa"])
    if table == "cases":
        return [header] + [[str(y), "", "", ""] for y in years]
    return [header]


def write_table(path: Path, rows: list[list[str]]) -> None:
    tables.write_table(path, rows[0], rows[1:])


def data_dictionary() -> str:
    """Every table and column, in Indonesian and English, from the declared schemas."""
    lines = [
        "# Kamus data / Data dictionary",
        "",
        "Dibuat dari skema di `src/collabgov/schemas/`. Generated from the schemas in `src/collabgov/schemas/`.",
        "Baris 1 setiap tabel adalah judul kolom; nomor baris dalam pesan galat mengikuti nomor baris spreadsheet.",
        "Row 1 of every table is the header; row numbers in error messages are spreadsheet row numbers.",
        "",
        "`site.yaml`: setiap kunci dijelaskan di `docs/site_yaml.md` (dari skema `schemas/site.schema.json`).",
        "`site.yaml`: every key is described in `docs/site_yaml.md` (from the schema `schemas/site.schema.json`).",
        "",
    ]
    for table in DICTIONARY_TABLES:
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


MADE_UP_REGION_CODE = "00.00.00"  # the Kemendagri code of a made-up place: the list has no such code


def made_up_region(kecamatan: str, kabupaten: str) -> dict:
    """The region of a made-up kecamatan (a synthetic site not in the Kemendagri list): code 00.00.00, province
    'Contoh (sintetis)'; "Kota X" is still a kota (with kelurahan), as in a lookup."""
    kind = _kind_asked(kabupaten) or "kabupaten"
    name = kabupaten.strip()
    if _kind_asked(name):  # the word is a prefix followed by the name
        name = name.split(None, 1)[1].strip()
    return {
        "kecamatan": kecamatan,
        "kabupaten": name,
        "kabupaten_kind": kind,
        "provinsi": "Contoh (sintetis)",
        "region_code": MADE_UP_REGION_CODE,
        "village_kinds": ["kelurahan"] if kind == "kota" else ["desa"],
    }


def new_site(
    root: Path,
    slug: str,
    kecamatan: str,
    kabupaten: str,
    years: list[int] | None = None,
    fmt: str = "csv",
    synthetic: bool = False,
) -> Path:
    """data/<slug>/ from templates: site.yaml from the Kemendagri list, every table, the texts, a README.

    A new site is fieldwork (the student's own interviews) in Indonesian and English; its codebook's
    actors fit its kind of villages (kelurahan, desa); its texts fit its number of years. A synthetic site
    (made-up data) keeps the region of a kecamatan the list has, and gets a made-up one otherwise."""
    if not SLUG.match(slug or ""):
        raise UsageError(message("site_name_invalid", "id", name=repr(slug)), "id")
    folder = root / "data" / slug
    if folder.exists():
        raise UsageError(message("site_exists", "id", site=slug), "id")
    if fmt not in ("csv", "xlsx"):
        raise UsageError(message("format_csv_xlsx", "id"), "id")
    try:
        region = lookup_region(kecamatan, kabupaten)
    except UsageError:
        if not synthetic:
            raise
        region = made_up_region(kecamatan, kabupaten)  # practice with a kecamatan that is not in the list
    this_year = datetime.date.today().year
    years = years or [this_year - 2, this_year - 1]
    if len(years) < 2 or years != list(range(years[0], years[0] + len(years))):
        raise UsageError(message("years_usage", "id", found=" ".join(map(str, years))), "id")
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
        f"# Pengaturan situs '{slug}'. Setiap kunci dijelaskan di docs/site_yaml.md; `make validate SITE={slug}`\n"
        "# memeriksanya. Settings of the site; every key is described in docs/site_yaml.md.\n"
    )
    text = yaml.safe_dump(params, allow_unicode=True, sort_keys=False)
    text = text.replace(f"region_code: {params['region_code']}\n", f'region_code: "{params["region_code"]}"\n')
    text = text.replace(f"region_code: '{params['region_code']}'\n", f'region_code: "{params["region_code"]}"\n')
    (staging / "site.yaml").write_text(header + text, "utf-8")
    for table in TABLES:
        write_table(staging / f"{table}.{fmt}", template_rows(table, years, params["village_kinds"]))
    (staging / "DATA_DICTIONARY.md").write_text(data_dictionary() + "\n", "utf-8")
    templates = resources.files("collabgov").joinpath("templates/text")
    trend = len(years) >= 3
    for lang in ("id", "en"):
        (staging / "text" / lang).mkdir()
        for item in templates.joinpath(lang).iterdir():
            name = item.name
            if name == "background_cases_trend.md":
                if not trend:
                    continue
                name = "background_cases.md"
            elif name == "background_cases.md" and trend:
                continue
            (staging / "text" / lang / name).write_text(item.read_text("utf-8"), "utf-8")
    (staging / "README.md").write_text(site_readme(slug, params, synthetic), "utf-8")
    staging.rename(folder)
    return folder


def site_readme(slug: str, params: dict, synthetic: bool) -> str:
    """The README of a new site, in Indonesian (with a line in English): what to fill in and how to check it."""
    kind = "Kota" if params["kabupaten_kind"] == "kota" else "Kabupaten"
    place = f"Kecamatan {params['kecamatan']}, {kind} {params['kabupaten']}, {params['provinsi']}"
    return (
        f"# Situs `{slug}`: {place}\n\n"
        + ("**SINTETIS / SYNTHETIC**: data rekaan untuk demonstrasi dan pengujian.\n\n" if synthetic else "")
        + f"Kode wilayah Kemendagri {params['region_code']}; tahun {', '.join(map(str, params['years']))}.\n\n"
        "## Yang harus diisi\n\n"
        f"1. Jalankan `make validate SITE={slug}`: hasilnya adalah daftar semua yang belum diisi atau belum benar.\n"
        "2. Isi tabel-tabelnya (lihat DATA_DICTIONARY.md), atau impor data kode dari perangkat QDA\n"
        f"   (`make import SITE={slug} FROM=...`).\n"
        "3. Ganti setiap `[TULIS: ...]` di site.yaml dan di text/id, text/en dengan teks Anda.\n"
        "4. Catat di README ini dari mana setiap angka dan setiap segmen berasal (sumber data, izin, tanggal).\n"
        f"5. `make SITE={slug}` membuat laporannya.\n\n"
        "Panduan lengkap: docs/panduan.md. English: fill in the tables and texts, then run\n"
        f"`make validate SITE={slug}` (docs/guide.md).\n"
    )
