import pytest

from collabgov.errors import DataError, UsageError
from collabgov.sites import available_sites, load_site, read_parameters
from conftest import write


def test_pujud_parameters(root):
    site = load_site(root, "pujud")
    assert site.params["region_code"] == "14.07.08" and site.languages == ["id", "en"]


def test_unknown_site_lists_the_sites(root):
    with pytest.raises(UsageError, match=r"unknown site 'nosuchsite'; sites here: .*pujud"):
        load_site(root, "nosuchsite")
    assert "pujud" in available_sites(root)


@pytest.mark.parametrize("slug", ["../pujud", "Pujud", "a b", "", "x" * 41, "/etc"])
def test_unsafe_site_names_are_refused(root, slug):
    with pytest.raises(UsageError, match="not allowed"):
        load_site(root, slug)


def test_site_yaml_problems_are_all_listed(tmp_path):
    path = write(tmp_path / "site.yaml", "kecamatan: X\nregion_code: 14.07\nyears: [2022, 2021]\ncolour: red\n")
    with pytest.raises(DataError) as exc:
        read_parameters(path)
    text = str(exc.value)
    for expected in (
        "colour: unknown setting",
        "kabupaten: required setting is missing",
        "region_code: expected a Kemendagri code",
        "years: expected a list of years",
    ):
        assert expected in text


def test_site_yaml_is_loaded_safely(tmp_path):
    path = write(tmp_path / "site.yaml", "kecamatan: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(DataError, match="not valid YAML"):
        read_parameters(path)
