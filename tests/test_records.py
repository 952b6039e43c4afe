"""Dataclasses that write their own ``__init__`` (doctor/record.py) take and set what ``@dataclass`` would."""

import dataclasses
import importlib
import inspect
import pkgutil

import pytest

from doctor.record import FrozenRecord


def _modules():
    import doctor.rules  # installed as doctor.rules from the top-level rules/ folder

    for package in (doctor, doctor.rules):
        yield from (importlib.import_module(info.name)
                    for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
                    if info.name != "doctor.__main__")


def _written_out():
    """Every dataclass of the package declared with init=False and an __init__ of its own."""
    found = {}
    for module in _modules():
        for obj in vars(module).values():
            if (inspect.isclass(obj) and obj.__module__ == module.__name__ and dataclasses.is_dataclass(obj)
                    and not obj.__dataclass_params__.init and "__init__" in vars(obj)):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


WRITTEN_OUT = _written_out()


def test_the_classes_a_check_creates_are_found():
    for name in ("doctor.model.Origin", "doctor.model.Finding", "doctor.model.RunnerSetup",
                 "doctor.rules._images.NamedImage"):
        assert name in WRITTEN_OUT


def _generated(cls):
    """The same fields as a dataclass whose __init__ @dataclass writes."""
    specs = []
    for f in dataclasses.fields(cls):
        kwargs = {}
        if f.default is not dataclasses.MISSING:
            kwargs["default"] = f.default
        if f.default_factory is not dataclasses.MISSING:
            kwargs["default_factory"] = f.default_factory
        specs.append((f.name, f.type, dataclasses.field(init=f.init, **kwargs)))
    return dataclasses.make_dataclass(cls.__name__ + "Generated", specs, eq=False, repr=False)


@pytest.mark.parametrize("name", sorted(WRITTEN_OUT))
def test_init_takes_the_fields_in_order_with_their_defaults(name):
    cls = WRITTEN_OUT[name]
    mine = list(inspect.signature(cls.__init__).parameters.values())[1:]
    theirs = list(inspect.signature(_generated(cls).__init__).parameters.values())[1:]
    assert [p.name for p in mine] == [p.name for p in theirs]
    assert [p.kind for p in mine] == [p.kind for p in theirs]
    factories = {f.name for f in dataclasses.fields(cls) if f.default_factory is not dataclasses.MISSING}
    for p, q in zip(mine, theirs):
        if p.name in factories:
            assert p.default is None, f"{name}.{p.name}: a default_factory field defaults to None"
        else:
            assert p.default is q.default or p.default == q.default, f"{name}.{p.name}"


@pytest.mark.parametrize("name", sorted(WRITTEN_OUT))
def test_init_sets_every_field(name):
    cls = WRITTEN_OUT[name]
    fields = [f for f in dataclasses.fields(cls) if f.init]
    given = {f.name: object() for f in fields}
    made = cls(**given)
    assert {f.name: getattr(made, f.name) for f in fields} == given
    required = {f.name: given[f.name] for f in fields
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    a, b = cls(**required), _generated(cls)(**required)
    for f in fields:
        assert getattr(a, f.name) == getattr(b, f.name), f"{name}.{f.name}"
        if f.default_factory is not dataclasses.MISSING:
            assert getattr(a, f.name) is not getattr(cls(**required), f.name), f"{name}.{f.name} is shared"


@pytest.mark.parametrize("name", sorted(n for n, c in WRITTEN_OUT.items() if issubclass(c, FrozenRecord)))
def test_frozen_records_refuse_changes(name):
    cls = WRITTEN_OUT[name]
    fields = [f for f in dataclasses.fields(cls) if f.init]
    made = cls(**{f.name: f.name for f in fields})
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(made, fields[0].name, "changed")
    with pytest.raises(dataclasses.FrozenInstanceError):
        delattr(made, fields[0].name)
    assert hash(made) == hash(cls(**{f.name: f.name for f in fields}))
    assert dataclasses.replace(made, **{fields[0].name: "other"}) != made
