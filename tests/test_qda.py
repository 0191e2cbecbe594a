"""Import from QDA tools (REFI-QDA .qdpx mimicking several tools' quirks, Taguette exports), stage
mapping, and agreement between coders. All files here are SYNTHETIC, built from the published schema."""

import zipfile

import pytest
from qdpx_builder import build_qdpx

from collabgov import agreement, coding, qda
from collabgov.errors import DataError
from collabgov.scaffold import new_site
from collabgov.site_import import import_into_site
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


@pytest.fixture
def demo(tmp_path):
    root = tmp_path
    (root / "data").mkdir()
    folder = new_site(root, "demo", "Contoh", "Contoh", [2021, 2022], synthetic=True)
    write(
        folder / "stage_mapping.csv",
        "code,stage,family\nDialog,dialogue,\nAktor/Camat,,actor\nAktor/Polisi,,actor\nSaluran WA,,channel\n",
    )
    return root


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
    data = coding.load_coded_data(demo / "data/demo")
    freq = coding.code_frequencies(data, "en").set_index("label")
    expected = {}
    for _, _, _, _, paths in CODINGS:
        for p in paths:
            expected[p.split("/")[-1]] = expected.get(p.split("/")[-1], 0) + 1
    for name, n in expected.items():
        assert freq.loc[name, "segments"] == n, name
    assert freq.loc["Tidak dipetakan", "family"] == "imported"  # unmapped, still counted
    assert freq.loc["Musyawarah", "stage"] == "Face-to-face dialogue"  # nested under a mapped parent
    seg = data.segments.set_index("segment_id")
    first = seg.iloc[0]
    assert first["text"] == (TEXT_A.replace("\n", "\r\n") if tool == "maxqda" else TEXT_A)[0:40]
    assert first["stage"] == "dialogue" and first["coder"] == "Ana" and first["informant"] == "informan_1"
    informant = data.informants.set_index("informant_id").loc["informan_1"]
    assert informant["role_en"] == "camat" and "umur=50" in informant["attributes"]
    assert set(data.segments["coder"]) == {"Ana", "Budi"}


def test_agreement_per_code_by_hand(demo, tmp_path):
    import_into_site(demo, "demo", qdpx(tmp_path))
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
    assert table.loc["Polisi", "percent_agreement"] == 1.0 and table.loc["Polisi", "reading"] == "reliable"
    assert agreement.interpretation(0.7) == "tentative" and agreement.interpretation(0.5) == "unreliable"


def test_taguette_csv_and_xlsx(demo, tmp_path):
    csv_path = write(
        tmp_path / "highlights.csv",
        "id,document,tag,content\n1,Wawancara C,Dialog,Kami rapat\n1,Wawancara C,Aktor,Kami rapat\n2,Wawancara D,Saluran WA,Grup WA\n",
    )
    import_into_site(demo, "demo", csv_path)
    data = coding.load_coded_data(demo / "data/demo")
    assert len(data.segments) == 2 and set(data.segments["coder"]) == {"taguette"}
    assert data.segments.iloc[0]["stage"] == "dialogue"
    import openpyxl

    wb = openpyxl.Workbook()
    for row in [["id", "document", "tag", "content"], [7, "Doc", "Aktor", "x"]]:
        wb.active.append(row)
    wb.save(tmp_path / "highlights.xlsx")
    import_into_site(demo, "demo", tmp_path / "highlights.xlsx")
    assert len(coding.load_coded_data(demo / "data/demo").segments) == 1


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


def test_failed_import_leaves_the_site_as_it_was(demo, tmp_path):
    folder = demo / "data/demo"
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    write(folder / "stage_mapping.csv", "code,stage,family\nDialog,nostage,\n")
    before["stage_mapping.csv"] = (folder / "stage_mapping.csv").read_bytes()
    with pytest.raises(DataError, match="tahap 'nostage' tidak ada di buku kode"):
        import_into_site(demo, "demo", qdpx(tmp_path))
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


def test_import_replaces_a_table_kept_in_another_format(demo, tmp_path):
    folder = demo / "data/demo"
    segments = folder / "segments.csv"
    segments.with_suffix(".tsv").write_text(segments.read_text("utf-8").replace(",", "\t"), "utf-8")
    segments.unlink()  # this site keeps its segments as a tab-separated file
    import_into_site(demo, "demo", qdpx(tmp_path))
    assert (folder / "segments.csv").is_file() and not (folder / "segments.tsv").exists()
    assert len(coding.load_coded_data(folder).segments) > 0
