import pytest

from engine.errors import InvalidInput
from engine.values import parse_items


def test_text_stays_text_and_json_is_explicit():
    assert parse_items(["a=true", "c=42", "d=-3.5", "g=张三", "h=null", "i=007x", "j=", "k=a=b",
                        "A:=true", "B:=false", "C:=42", "D:=-3.5", 'E:={"x": [1, 2]}', "F:=[1,2]", "H:=null",
                        'S:="0012"']) == {
        "a": "true", "c": "42", "d": "-3.5", "g": "张三", "h": "null", "i": "007x", "j": "", "k": "a=b",
        "A": True, "B": False, "C": 42, "D": -3.5, "E": {"x": [1, 2]}, "F": [1, 2], "H": None, "S": "0012"}


@pytest.mark.parametrize("item, message", [
    ("novalue", "expected KEY=TEXT or KEY:=JSON"),
    ("=1", "bad --data key ''"),
    ("_x=1", "bad --data key '_x'"),
    ("a b=1", "bad --data key 'a b'"),
    ('j:={"x": }', "--data j: bad JSON"),
    ("j:=张三", "--data j: bad JSON"),
    ("n:=1e999", "--data n: inf is not a number JSON can hold"),
    ("n:=" + "[" * 40 + "]" * 40, "nested deeper than 32 levels"),
    ("n:=" + "1" * 5000, "--data n: bad JSON"),
    ("len=1", "is the name of a helper"),
    ("return_reason=x", "--data return_reason is set by onetrip"),
    ("x=\udcff", "not valid UTF-8"),
])
def test_bad_values(item, message):
    with pytest.raises(InvalidInput, match=message.replace("[", r"\[")):
        parse_items([item])
