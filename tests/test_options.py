import dataclasses

import pytest

from spaim.cli import build_parser
from spaim.errors import SpaIMInputError
from spaim.options import SetupOptions


def test_random_state_is_an_alias_of_seed():
    assert SetupOptions.from_kwargs({"random_state": 7}).seed == 7
    assert SetupOptions.from_kwargs({"random_state": 7, "seed": 7}).seed == 7
    with pytest.raises(SpaIMInputError, match="disagree"):
        SetupOptions.from_kwargs({"random_state": 7, "seed": 8})


def test_unknown_names_get_the_closest_suggestion():
    with pytest.raises(SpaIMInputError, match="did you mean 'labels_key'") as info:
        SetupOptions.from_kwargs({"label_key": "cell_type"}, "SpaIM")
    assert info.value.option == "label_key" and "SpaIM()" in str(info.value)


def test_numpy_numbers_are_accepted_and_bools_are_not_numbers():
    np = pytest.importorskip("numpy")
    options = SetupOptions(n_clusters=np.int64(5), seed=np.uint32(3))
    assert type(options.n_clusters) is int and type(options.seed) is int  # saved models are JSON
    assert type(SetupOptions(resolution=np.float32(0.5)).resolution) is float
    with pytest.raises(SpaIMInputError, match="must be an integer"):
        SetupOptions(n_clusters=True)


def test_every_option_has_a_cli_flag_with_its_default():
    impute = build_parser()._subparsers._group_actions[0].choices["impute"]
    dests = {a.dest: a for a in impute._actions}
    for f in dataclasses.fields(SetupOptions):
        assert f.name in dests, f.name
        assert dests[f.name].default == f.default, f.name
    args = build_parser().parse_args(["impute", "--st", "a", "--sc", "b", "--out", "c", "--profile-stat", "median",
                                      "--resolution", "0.5", "--strip-gene-names"])
    assert (args.profile_stat, args.resolution, args.strip_gene_names) == ("median", 0.5, True)
