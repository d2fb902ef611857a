"""The app's gradient checks: the engine's variants pass, the wrong backward is flagged."""

from lstm_viz.checks import full_check, quick_check, thresholds_text
from lstm_viz.config import default_config
from lstm_viz.session import Session

SMALL = default_config("random", steps=4, inputs=2, hidden=3, init="uniform")


def test_full_check_passes_both_variants_and_flags_the_wrong_backward():
    for variant in ("seed", "standard"):
        s = Session(SMALL.with_(variant=variant))
        result = s.run_gradient_check()
        assert result.verdict == "correct", (variant, result.max_error)
        assert s.gradcheck_result() is result
        assert set(result.arrays) >= {"wg", "wi", "wf", "wo", "bg", "bi", "bf", "bo"}
    wrong = Session(SMALL.with_(variant="standard", backward="seed"))
    result = full_check(wrong.trace, wrong.forward_variant)
    assert result.verdict == "wrong" and result.max_error > 1e-2
    assert "1e-06" in thresholds_text() and "0.001" in thresholds_text()


def test_quick_check_agrees():
    adding = default_config("adding", steps=15, hidden=6)
    for cfg, ok in ((adding, True), (adding.with_(variant="standard"), True),
                    (adding.with_(variant="standard", backward="seed"), False)):
        s = Session(cfg)
        errors = quick_check(s.trace, s.forward_variant)
        assert "loss.wy" in errors
        assert (max(errors.values()) < 1e-6) is ok, (cfg, errors)
