"""Import from QDA tools (REFI-QDA .qdpx mimicking several tools' quirks, Taguette exports), stage
mapping, and agreement between coders. All files here are SYNTHETIC, built from the published schema."""

import zipfile

import pytest
from qdpx_builder import build_qdpx

from collabgov import agreement, coding
from collabgov import qda_files as qda
from collabgov.errors import DataError
from collabgov.scaffold import new_site
from collabgov.site_import import import_into_site
from collabgov.sites import load_site
from collabgov.tables import read_table, write_table
from collabgov.validation import validate_site
from conftest import write

TEXT_A = "Kami rapat di kantor camat setiap bulan.\nPolisi datang dan warga bertanya tentang narkoba.\n"
TEXT_B = "Grup WhatsApp dipakai untuk kabar cepat.\nKepala desa ikut sosialisasi.\n"
CODES = {"Dialog": {"Musyawarah": {}}, "Aktor": {"Camat": {}, "Polisi": {}}, "Saluran WA": {}, "Tidak dipetakan": {}}
CODINGS = [
    ("Wawancara A", 0, 40, "Ana", ["Dialog/Musyawarah", "Aktor/Camat"]),
    ("Wawancara A", 0, 30, "Budi", ["Dialog/Musyawarah"]),
    ("Wawancara A", 41, 90, "Ana", ["Aktor/Polisi"]),
    ("Wawancara A", 41, 90, "Budi", ["Aktor/Polisi", "Tidak dipetakan"]),
    ("Wawancara B", 0, 40, "Ana", ["Saluran WA"]),
]


MAPPING = {
    "Dialog": ("dialogue", "", ""),
    "Aktor/Camat": ("", "actor", ""),
    "Aktor/Polisi": ("", "", "polisi"),
    "Saluran WA": ("", "channel", ""),
}


@pytest.fixture
def demo(tmp_path):
    """A new SYNTHETIC site, as a student would start it."""
    root = tmp_path
    (root / "data").mkdir()
    new_site(root, "demo", "Contoh", "Contoh", [2021, 2022], synthetic=True)
    return root


def map_codes(folder, mapping=MAPPING):
    """Fill in code_mapping as a student would after an import: a stage, a family or an existing code per path."""
    path = next(folder.glob("code_mapping.*"))
    raw = read_table(path)
    rows = []
    for row in raw.rows:
        record = dict(zip(raw.header, row))
        stage, family, same_as = mapping.get(record["path"], ("", "", ""))
        rows.append([record["code"], record["path"], record["uses"], stage, family, same_as])
    write_table(path, raw.header, rows)


def qdpx(tmp_path, tool="refi"):
    return build_qdpx(
        tmp_path / f"{tool}.qdpx",
        sources={"Wawancara A": TEXT_A, "Wawancara B": TEXT_B},
        codes=CODES,
        codings=CODINGS,
        cases={"Informan 1": ({"peran": "camat", "umur": "50"}, ["Wawancara A"])},
        tool=tool,
    )


@pytest.mark.parametrize("tool", ["refi", "atlas", "maxqda", "inline", "bare"])
def test_qdpx_code_frequencies_equal_the_codings_in_the_file(demo, tmp_path, tool):
    import_into_site(demo, "demo", qdpx(tmp_path, tool))
    folder = demo / "data/demo"
    mapping = {
        dict(zip(read_table(p).header, r))["path"]: r for p in folder.glob("code_mapping.*") for r in read_table(p).rows
    }
    assert set(mapping) == {
        "Dialog",
        "Dialog/Musyawarah",
        "Aktor",
        "Aktor/Camat",
        "Aktor/Polisi",
        "Saluran WA",
        "Tidak dipetakan",
    }  # every imported code, with its path in the tool
    map_codes(folder)
    data = coding.load_coded_data(folder)
    freq = coding.code_frequencies(data, "en").set_index("label")
    expected = {}
    for _, _, _, _, paths in CODINGS:
        for p in paths:
            name = {"Polisi": "Police (Polsek / Bhabinkamtibmas)"}.get(p.split("/")[-1], p.split("/")[-1])
            expected[name] = expected.get(name, 0) + 1
    for name, n in expected.items():
        assert freq.loc[name, "segments"] == n, name
    assert freq.loc["Tidak dipetakan", "family"] == "imported"  # unmapped, still counted
    assert freq.loc["Musyawarah", "stage"] == "Face-to-face dialogue"  # nested under a mapped parent
    seg = data.segments.set_index("segment_id")
    first = seg.iloc[0]
    assert first["text"] == (TEXT_A.replace("\n", "\r\n") if tool == "maxqda" else TEXT_A)[0:40]
    assert first["stage"] == "dialogue" and first["coder"] == "Ana" and first["informant"] == "informan_1"
    informant = data.informants.set_index("informant_id").loc["informan_1"]
    assert informant["role_id"] == "camat" and "umur=50" in informant["attributes"]
    assert informant["role_en"] != "camat"  # the project's words are not passed off as English
    assert set(data.segments["coder"]) == {"Ana", "Budi"}


def test_agreement_per_code_by_hand(demo, tmp_path):
    import_into_site(demo, "demo", qdpx(tmp_path))
    map_codes(demo / "data/demo")
    data = coding.load_coded_data(demo / "data/demo")
    table = agreement.agreement_table(data, "en").set_index("label")
    musyawarah = table.loc["Musyawarah"]
    n = len(TEXT_A)  # only Wawancara A was coded by both coders
    both, ana_only = 30, 10
    pct = (both + (n - both - ana_only)) / n
    pa, pb = 40 / n, 30 / n
    pe = pa * pb + (1 - pa) * (1 - pb)
    assert musyawarah["units"] == n
    assert musyawarah["percent_agreement"] == pytest.approx(pct)
    assert musyawarah["kappa"] == pytest.approx((pct - pe) / (1 - pe))
    # Krippendorff's alpha from the coincidence matrix, computed independently
    o01 = o10 = ana_only  # each unit coded by one coder only adds one pair each way
    total = 2 * n
    n1 = 2 * both + o10
    n0 = total - n1
    alpha = 1 - ((o01 + o10) / total) / (2 * n0 * n1 / (total * (total - 1)))
    assert musyawarah["alpha"] == pytest.approx(alpha)
    polisi = table.loc["Police (Polsek / Bhabinkamtibmas)"]
    assert polisi["percent_agreement"] == 1.0 and polisi["reading"] == "reliable"
    assert agreement.interpretation(0.7) == "tentative" and agreement.interpretation(0.5) == "unreliable"


def test_taguette_highlights_csv_and_xlsx_with_nested_tags(demo, tmp_path):
    csv_path = write(
        tmp_path / "highlights.csv",
        "id,document,tag,content\n1,Wawancara C,Dialog,Kami rapat\n"
        "1,Wawancara C,Aktor.Polisi,Kami rapat\n2,Wawancara D,Saluran WA,Grup WA\n",
    )
    import_into_site(demo, "demo", csv_path)
    folder = demo / "data/demo"
    map_codes(folder)
    data = coding.load_coded_data(folder)
    assert len(data.segments) == 2 and set(data.segments["coder"]) == {"taguette"}
    assert data.segments.iloc[0]["stage"] == "dialogue" and data.segments.iloc[0]["codes"] == "dialog;polisi"
    assert data.codebook.codes.at["aktor", "family"] == "imported"  # the parent Taguette made of "Aktor.Polisi"
    import openpyxl

    wb = openpyxl.Workbook()
    for row in [["id", "document", "tag", "content"], [7, "Doc", "Aktor.Polisi", "x"]]:
        wb.active.append(row)
    wb.save(tmp_path / "highlights.xlsx")
    import_into_site(demo, "demo", tmp_path / "highlights.xlsx", replace=True)
    assert len(coding.load_coded_data(folder).segments) == 1


def test_taguette_codebook_export_brings_codes_and_descriptions(demo, tmp_path):
    path = write(
        tmp_path / "codebook.csv",
        "tag,description,number of highlights\nDialog,Rapat dan musyawarah,3\nAktor.Camat,Camat dan stafnya,2\n",
    )
    lines = import_into_site(demo, "demo", path)
    book = coding.load_codebook(demo / "data/demo", "id", None)
    assert (
        book.codes.at["aktor_camat", "definition_id"] == "Camat dan stafnya"
        and book.codes.at["aktor_camat", "parent"] == "aktor"
    )
    assert any("3 kode" in line for line in lines)


def test_an_import_never_replaces_work_unless_asked_and_then_keeps_a_backup(tmp_path):
    demo = tmp_path / "compendium"
    (demo / "data").mkdir(parents=True)
    new_site(demo, "demo", "Contoh", "Contoh", [2021, 2022], fmt="xlsx", synthetic=True)  # tables typed in Excel
    folder = demo / "data/demo"
    import_into_site(demo, "demo", qdpx(tmp_path))
    map_codes(folder)
    informants = next(folder.glob("informants.*"))
    raw = read_table(informants)
    rows = [dict(zip(raw.header, r)) for r in raw.rows]
    rows[0]["role_id"], rows[0]["role_en"] = "camat (diisi tangan)", "camat (typed by hand)"
    write_table(informants, raw.header, rows)
    assert import_into_site(demo, "demo", qdpx(tmp_path))  # the same export again changes nothing: no question
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    newer = build_qdpx(
        tmp_path / "newer.qdpx",
        sources={"Wawancara A": TEXT_A, "Wawancara B": TEXT_B},
        codes=CODES,
        codings=CODINGS[:3],
        cases={"Informan 1": ({"peran": "camat"}, ["Wawancara A"])},
    )
    with pytest.raises(DataError) as exc:
        import_into_site(demo, "demo", newer)  # a newer export of the project: fewer codings
    said = str(exc.value)
    assert "REPLACE=1" in said and "segments.xlsx: 2 baris akan diganti" in said, said
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before
    lines = import_into_site(demo, "demo", newer, replace=True)
    backup = next((folder / "backup").iterdir())
    assert any(str(backup.relative_to(demo)) in line for line in lines)
    assert {p.name for p in backup.iterdir()} >= {
        "segments.xlsx",
        "informants.xlsx",
        "codebook.xlsx",
        "code_mapping.xlsx",
    }
    assert (backup / "segments.xlsx").read_bytes() == before["segments.xlsx"]
    data = coding.load_coded_data(folder)  # the roles typed by hand and the mapping filled in are kept
    assert data.informants.iloc[0]["role_en"] == "camat (typed by hand)"
    assert data.segments.iloc[0]["stage"] == "dialogue" and len(data.segments) == 3
    assert sorted(p.suffix for p in folder.glob("segments.*")) == [".xlsx"]  # xlsx stays xlsx
    from collabgov.inputs import site_files

    assert not [p for p in site_files(folder) if "backup" in p.relative_to(folder).parts]  # not an input


def test_unmapped_codes_are_on_the_to_do_list_and_no_stage_blocks_the_report(demo, tmp_path):
    import_into_site(demo, "demo", qdpx(tmp_path))
    problems = validate_site(load_site(demo, "demo"))
    said = [str(p) for p in problems.items]
    assert any("no_stage" in s or "tidak satu pun dari 5 segmen masuk ke tahap" in s for s in said)
    assert sum("belum dipetakan" in s for s in said) == 5  # every imported code a segment uses
    map_codes(demo / "data/demo")
    said = [str(p) for p in validate_site(load_site(demo, "demo")).items]
    assert not any("tidak satu pun" in s for s in said)
    assert [s for s in said if "belum dipetakan" in s] == [s for s in said if "Tidak dipetakan" in s]


def test_text_that_looks_like_a_formula_is_stored_safely_and_read_back(demo, tmp_path):
    path = write(tmp_path / "h.csv", 'id,document,tag,content\n1,Doc,Dialog,"=HYPERLINK(""http://x"",""klik"")"\n')
    folder = demo / "data/demo"
    import_into_site(demo, "demo", path)
    segments = next(folder.glob("segments.*"))
    if segments.suffix == ".csv":
        assert "'=HYPERLINK" in segments.read_text() and ",=HYPERLINK" not in segments.read_text()
    else:
        import openpyxl

        cells = [c for row in openpyxl.load_workbook(segments).active.iter_rows() for c in row if c.value]
        assert all(c.data_type == "s" for c in cells if str(c.value).startswith("="))
    assert coding.load_coded_data(folder).segments.iloc[0]["text"] == '=HYPERLINK("http://x","klik")'


def broken(tmp_path, name, members: dict[str, bytes]):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    return path


@pytest.mark.parametrize(
    "name, members, message",
    [
        (
            "traversal.qdpx",
            {"project.qde": b"<Project xmlns='urn:QDA-XML:project:1.0'/>", "../evil.txt": b"x"},
            "outside its own folder",
        ),
        (
            "bomb.qdpx",
            {
                "project.qde": b"<Project xmlns='urn:QDA-XML:project:1.0'/>",
                "sources/big.txt": b"0" * (60 * 1024 * 1024),
            },
            "expands to too much data",
        ),
        ("noproject.qdpx", {"sources/a.txt": b"x"}, "expected one .qde project file"),
        ("badxml.qdpx", {"p.qde": b"<Project"}, "not valid REFI-QDA XML"),
        ("wrongns.qdpx", {"p.qde": b"<Project xmlns='urn:other'/>"}, "expected a <Project> in namespace"),
        (
            "entities.qdpx",
            {
                "p.qde": b"<!DOCTYPE x [<!ENTITY a 'aaaa'><!ENTITY b '&a;&a;'>]><Project xmlns='urn:QDA-XML:project:1.0'>&b;</Project>"
            },
            "not valid REFI-QDA XML",
        ),
    ],
)
def test_broken_qdpx_files_are_refused_clearly(tmp_path, name, members, message):
    with pytest.raises(DataError, match=message):
        qda.read_qdpx(broken(tmp_path, name, members))


def test_truncated_qdpx(tmp_path):
    good = qdpx(tmp_path)
    cut = tmp_path / "cut.qdpx"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(DataError, match="not a readable .qdpx"):
        qda.read_qdpx(cut)


def test_a_failed_import_leaves_the_site_as_it_was(demo, tmp_path):
    folder = demo / "data/demo"
    import_into_site(demo, "demo", qdpx(tmp_path))
    map_codes(folder, {"Dialog": ("nostage", "", "")})
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    with pytest.raises(DataError, match="tahap 'nostage' tidak ada di buku kode"):
        import_into_site(demo, "demo", qdpx(tmp_path), replace=True)
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before


def test_archive_errors_speak_the_sites_language(tmp_path):
    bad = broken(tmp_path, "noproject.qdpx", {"sources/a.txt": b"x"})
    with pytest.raises(DataError, match="seharusnya ada satu berkas proyek .qde di dalam arsip, ditemukan 0"):
        qda.read_any(bad, "id")
    with pytest.raises(DataError, match="expected one .qde project file in the archive, found 0"):
        qda.read_any(bad, "en")


@pytest.mark.parametrize(
    "start, end, message",
    [
        ("abc", "10", "startPosition of a coded selection should be a whole number, found 'abc'"),
        ("5", "4", "runs from character 5 to 4, outside the source text"),
        ("0", "999", "runs from character 0 to 999, outside the source text (12 characters)"),
    ],
)
def test_coded_selections_outside_their_text_are_refused(tmp_path, start, end, message):
    qde = (
        "<Project xmlns='urn:QDA-XML:project:1.0'><Sources><TextSource guid='s' name='Wawancara'>"
        "<PlainTextContent>Dua belas ch</PlainTextContent>"
        f"<PlainTextSelection guid='x' startPosition='{start}' endPosition='{end}'/></TextSource></Sources></Project>"
    )
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")) as exc:
        qda.read_qdpx(broken(tmp_path, "positions.qdpx", {"project.qde": qde.encode()}))
    assert exc.value.problems[0].column == "Wawancara"


def test_an_import_keeps_the_format_a_site_keeps_a_table_in(demo, tmp_path):
    folder = demo / "data/demo"
    segments = next(folder.glob("segments.*"))
    raw = read_table(segments)
    write_table(folder / "segments.tsv", raw.header, raw.rows)
    segments.unlink()  # this site keeps its segments as a tab-separated file
    import_into_site(demo, "demo", qdpx(tmp_path))
    assert (folder / "segments.tsv").is_file() and not (folder / "segments.csv").exists()
    assert len(coding.load_coded_data(folder).segments) > 0


def test_codes_under_a_code_that_stands_for_a_stage_follow_it_into_that_stage(demo, tmp_path):
    """'Dialog' same_as the stage dialogue: its sub-code Musyawarah, left empty in code_mapping, is a
    sub-code of that stage (not a code whose parent left the codebook)."""
    lines = import_into_site(demo, "demo", qdpx(tmp_path))
    folder = demo / "data/demo"
    problems = validate_site(load_site(demo, "demo"), draft=True)
    unmapped = [p for p in problems.warnings if "belum dipetakan" in p.message]
    assert f"{len(unmapped)} kode impor belum dipetakan" in lines[-1]  # the import counts what validate lists
    map_codes(folder, {"Dialog": ("", "", "dialogue")})
    data = coding.load_coded_data(folder, "id")
    freq = coding.code_frequencies(data, "en").set_index("label")
    assert freq.loc["Musyawarah", "stage"] == "Face-to-face dialogue"
    assert set(data.segments.set_index("segment_id").iloc[:2]["stage"]) == {"dialogue"}
    assert not [p for p in validate_site(load_site(demo, "demo"), draft=True).errors if "induk" in p.message]


def test_segments_coded_only_with_actors_or_channels_are_flagged_as_in_no_stage(demo, tmp_path):
    """The police's passages (an actor) and the WhatsApp one (a channel) are in no stage's findings; validate
    says so on each of their rows, with their codes, and says nothing of the segments that have a stage."""
    import_into_site(demo, "demo", qdpx(tmp_path))
    map_codes(demo / "data/demo")
    data = coding.load_coded_data(demo / "data/demo", "id")
    stageless = {
        n: codes
        for n, (stage, codes) in enumerate(zip(data.segments["stage"], data.segments["codes"]), start=2)
        if stage not in data.codebook.stages
    }
    assert sorted(stageless.values()) == ["polisi", "polisi;tidak_dipetakan", "saluran_wa"]
    warnings = validate_site(load_site(demo, "demo"), draft=True).warnings
    flagged = {p.row: p.message for p in warnings if "tidak masuk tahap mana pun" in p.message}
    assert set(flagged) == set(stageless)
    assert all(f"(kodenya: {codes})" in flagged[n] for n, codes in stageless.items())
