"""The app's gradient checks: the engine's variants pass, the wrong backward is flagged."""

from lstm_viz.model.checks import full_check, quick_check, thresholds_text
from lstm_viz.model.config import default_config
from lstm_viz.model.session import Session

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
    text = thresholds_text()
    assert "correct below 1e-6, wrong above 1e-3, suspect between" in text
    assert "fourth-order centred differences, ε = 1e-3" in text


def test_quick_check_agrees():
    adding = default_config("adding", steps=15, hidden=6)
    for cfg, ok in ((adding, True), (adding.with_(variant="standard"), True),
                    (adding.with_(variant="standard", backward="seed"), False)):
        s = Session(cfg)
        errors = quick_check(s.trace, s.forward_variant)
        assert "loss.wy" in errors
        assert (max(errors.values()) < 1e-6) is ok, (cfg, errors)


def test_progress_cancels_a_check_and_the_worst_array_comes_first():
    import numpy as np
    import pytest

    from lstm_viz.model.checks import CheckCancelled, CheckProgress, error_image, worst_first

    s = Session(SMALL)
    progress = CheckProgress()
    seen = []

    def watch(done, total):
        seen.append((done, total))
        progress(done, total)
        if done == 5:
            progress.cancel()
    with pytest.raises(CheckCancelled):
        full_check(s.trace, progress=watch)
    assert seen[-1][0] == 6 and progress.text() == f"checked 6 of {seen[-1][1]} entries"
    wrong = Session(SMALL.with_(variant="standard", backward="seed"))
    result = full_check(wrong.trace, wrong.forward_variant)
    order = worst_first(result)
    errors = [a.max_error for a in order]
    assert errors[0] == result.max_error and errors == sorted(errors, reverse=True)
    img, unchecked = error_image(result.arrays["bi"].errors)         # a bias: one row
    assert img.shape == (1, 3) and unchecked == 0
    np.testing.assert_allclose(img[0], np.log10(np.maximum(result.arrays["bi"].errors,
                                                           1e-16)), rtol=1e-6)


def test_the_wrong_backward_is_described_as_what_ran_forward_and_backward():
    """A standard forward with the seed's backward: forward frames and the cell drawn say
    h = o·tanh(s); the backward's formulas and its h-stream are the seed's."""
    from lstm_viz.pictures.view_data import ViewData

    s = Session(SMALL.with_(variant="standard", backward="seed"))
    assert s.trace.variant == "seed" and s.data.forward_variant == "standard"
    vd = ViewData.of(s.data)
    s.goto("fwd:1:h")
    assert "tanh" in s.data.describe(s.cursor)
    st = vd.carousel.state(s.cursor)
    assert st.variant == "standard" and "h_branch" in st.edges
    s.goto("bwd:1:ds")
    assert "tanh" not in s.data.describe(s.cursor)             # ds = o*top_diff_h + …
    st = vd.carousel.state(s.cursor)
    assert st.variant == "standard" and st.edges["h_branch"].label == "o·top_diff_h"
    plain = Session(SMALL)                                      # an ordinary pass: one cell
    assert plain.data.forward_variant == plain.trace.variant
