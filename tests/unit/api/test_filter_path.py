from inferd.api.filter_path import apply_filter_path

DOC = {
    "count": 2,
    "trained_model_configs": [
        {"model_id": "a", "inference_config": {"ner": {"tokenization": {"bert": {"span": -1}}}}, "tags": []},
        {"model_id": "b", "inference_config": {"pass_through": {}}, "tags": ["x"]},
    ],
}


def test_includes_a_dotted_path_through_arrays() -> None:
    assert apply_filter_path(DOC, "trained_model_configs.model_id") == {
        "trained_model_configs": [{"model_id": "a"}, {"model_id": "b"}]
    }


def test_wildcards_within_a_name_and_across_levels() -> None:
    assert apply_filter_path(DOC, "cou*") == {"count": 2}
    assert apply_filter_path(DOC, "**.span") == {
        "trained_model_configs": [{"inference_config": {"ner": {"tokenization": {"bert": {"span": -1}}}}}]
    }


def test_several_filters_and_exclusions() -> None:
    assert apply_filter_path(DOC, "count,trained_model_configs.tags") == {
        "count": 2,
        "trained_model_configs": [{"tags": []}, {"tags": ["x"]}],
    }
    excluded = apply_filter_path(DOC, "-trained_model_configs.inference_config,-count")
    assert excluded == {"trained_model_configs": [{"model_id": "a", "tags": []}, {"model_id": "b", "tags": ["x"]}]}


def test_nothing_matching_gives_an_empty_object() -> None:
    assert apply_filter_path(DOC, "nope.nothing") == {}
