import pytest
from choreograph.core.errors import InputError
from choreograph.core.synth import MAX_CHARACTERS, SceneConfig, parse_choreography


@pytest.mark.parametrize("kwargs, field", [
    ({"characters": 0}, "characters"),
    ({"characters": MAX_CHARACTERS + 1}, "characters"),
    ({"width": 250}, "width"),
    ({"height": 32}, "height"),
    ({"frames": -4}, "frames"),
    ({"frames": 0}, "frames"),
    ({"speed": 0.0}, "speed"),
    ({"amplitude": -1.0}, "amplitude"),
    ({"background": "forest"}, "background"),
    ({"lookalikes": 2, "characters": 3}, "lookalikes"),
    ({"choreography": "dance+moonwalk"}, "choreography"),
    ({"choreography": "swap", "characters": 1}, "choreography"),
    ({"choreography": "fewer+cross", "characters": 2}, "choreography"),
    ({"seed": -1}, "seed"),
    ({"frames": 5000, "characters": 6, "width": 1024, "height": 1024}, "frames"),
])
def test_bad_input_names_the_parameter(kwargs, field):
    with pytest.raises(InputError) as err:
        SceneConfig(**kwargs)
    assert err.value.input_name == field
    assert "Fix:" in str(err.value)


def test_choreography_accepts_strings_and_tuples_in_any_order():
    assert parse_choreography("swap + dance") == ("dance", "swap")
    assert parse_choreography(["exit", "dance"]) == ("dance", "exit")
    assert SceneConfig(choreography="dance,circle").choreography == ("dance", "circle")
