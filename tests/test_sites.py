"""The site model: site.yaml read strictly and checked against the schema, with lines and the site's language."""

import json

import pytest

from collabgov.errors import DataError, UsageError
from collabgov.sites import available_sites, load_site, read_parameters, site_schema
from conftest import ROOT, write

GOOD = """kecamatan: Contoh
kabupaten: Contoh
kabupaten_kind: kota
provinsi: Contoh
region_code: "00.00.00"
village_kinds: [kelurahan]
years: [2022, 2023, 2024]
default_language: en
study:
  kind: fieldwork
  title: A study
  citation: Someone (2024). A study.
"""


def test_pujud_parameters(root):
    site = load_site(root, "pujud")
    assert site.params["region_code"] == "14.07.08" and site.languages == ["id", "en"]
    assert site.kind == "reproduction" and site.lines["region_code"] == 6


def test_unknown_site_lists_the_sites(root, monkeypatch):
    monkeypatch.setenv("COLLABGOV_LANG", "en")
    with pytest.raises(UsageError, match=r"unknown site 'nosuchsite'; sites here: .*pujud"):
        load_site(root, "nosuchsite")
    assert "pujud" in available_sites(root)


@pytest.mark.parametrize("slug", ["../pujud", "Pujud", "a b", "", "x" * 41, "/etc"])
def test_unsafe_site_names_are_refused(root, slug, monkeypatch):
    monkeypatch.setenv("COLLABGOV_LANG", "en")
    with pytest.raises(UsageError, match="not allowed"):
        load_site(root, slug)


def test_a_good_site_yaml_reads_with_its_lines(tmp_path):
    params, lines = read_parameters(write(tmp_path / "site.yaml", GOOD))
    assert params["years"] == [2022, 2023, 2024] and params["kabupaten_kind"] == "kota"
    assert lines["study.kind"] == 10 and lines["years"] == 7


def test_site_yaml_problems_are_all_listed_with_line_key_and_expectation(tmp_path):
    text = GOOD.replace("kecamatan: Contoh\n", "").replace('region_code: "00.00.00"', "region_code: 14.07")
    text = text.replace("years: [2022, 2023, 2024]", "years: [2024, 2022]") + "colour: red\n  \n"
    with pytest.raises(DataError) as exc:
        read_parameters(write(tmp_path / "site.yaml", text))
    said = str(exc.value)
    for expected in (
        "site.yaml:1: kecamatan: required setting is missing: expected the kecamatan's name as text",
        "site.yaml:4: region_code: expected a Kemendagri code in quotes",
        "site.yaml:6: years: years must increase one by one, without gaps",
        "colour: unknown setting",
    ):
        assert expected in said, said


def test_messages_speak_the_sites_language(tmp_path):
    text = GOOD.replace("default_language: en", "default_language: id").replace("kind: fieldwork", "kind: survey")
    with pytest.raises(DataError) as exc:
        read_parameters(write(tmp_path / "site.yaml", text))
    assert "site.yaml:10: study.kind: seharusnya fieldwork atau reproduction, tertulis 'survey'" in str(exc.value)


def test_an_unknown_key_suggests_the_closest_known_one(tmp_path):
    with pytest.raises(DataError, match="languagse: unknown setting; did you mean 'languages'"):
        read_parameters(write(tmp_path / "site.yaml", GOOD + "languagse: [id]\n"))


def test_every_schema_key_is_documented_in_both_languages():
    def walk(node, path):
        for key, child in node.get("properties", {}).items():
            yield f"{path}.{key}".strip("."), child
            yield from walk(child, f"{path}.{key}")

    for key, node in walk(site_schema(), ""):
        if key.rsplit(".", 1)[-1] in ("id", "en"):
            continue
        for field in ("description", "x-description-id", "x-expected-en", "x-expected-id"):
            assert node.get(field), f"{key}: {field} missing"
    assert site_schema()["additionalProperties"] is False


def test_the_schema_is_the_documentation_of_site_yaml():
    from collabgov.scaffold import site_yaml_reference

    assert (ROOT / "docs/site_yaml.md").read_text() == site_yaml_reference() + "\n", "run `make templates`"
    json.dumps(site_schema())


def test_a_site_yaml_that_is_not_utf8_is_named_with_its_line(tmp_path):
    path = tmp_path / "site.yaml"
    path.write_bytes(GOOD.replace("provinsi: Contoh", "provinsi: Contoh Tenggara \xe9").encode("latin-1"))
    with pytest.raises(DataError, match=r"site.yaml:4: not UTF-8 text: save site.yaml again as UTF-8 text"):
        read_parameters(path)
