"""What the host carries between chunks, and where chunks end."""

import json

import numpy as np

from jaxcrl.host_progress import HostProgress, chunk_ends, nonfinite_report
from jaxcrl.members import Member
from jaxcrl.trainer import FIRST_NONFINITE


def test_chunks_end_at_every_evaluation_and_checkpoint():
    assert chunk_ends(12, 6, 4) == [4, 6, 8, 12]
    assert chunk_ends(10, 6, 6) == [6, 10]


def test_host_progress_weights_chunks_by_length_and_survives_its_json_document():
    start = HostProgress(iteration=4, elapsed_s=10.0)
    after = start.after_chunk(6, {"critic/loss": np.array([1.0, 3.0]), FIRST_NONFINITE: [-1, -1]})
    after = after.after_chunk(12, {"critic/loss": np.array([4.0, 0.0])})
    assert (after.iteration, after.pending_count) == (12, 8)
    assert FIRST_NONFINITE not in after.pending_sums
    np.testing.assert_allclose(after.train_means()["critic/loss"], [(2 + 24) / 8, 6 / 8])
    document = json.loads(json.dumps(after.saved(25.0, has_buffer=True, num_members=2)))
    assert document["has_buffer"] and document["num_members"] == 2
    restored = HostProgress.from_saved(document)
    assert (restored.iteration, restored.pending_count, restored.elapsed_s) == (12, 8, 25.0)
    np.testing.assert_array_equal(restored.pending_sums["critic/loss"], [26.0, 6.0])
    assert start.pending_sums == {}  # after_chunk returned new progress; start is unchanged
    cleared = after.after_evaluation()
    assert (cleared.iteration, cleared.pending_count, cleared.pending_sums) == (12, 0, {})
    assert after.pending_count == 8


def test_a_non_finite_chunk_names_its_members_seeds_and_swept_values():
    members = [
        Member(index=k, seed=k % 2, values={"critic_lr": lr})
        for k, lr in enumerate([1e-4, 1e-4, 1e3, 1e3])
    ]
    metrics = {
        FIRST_NONFINITE: np.array([-1, -1, 7, 9]),
        "critic/loss": np.array([0.5, 0.4, np.nan, np.inf]),
        "actor/loss": np.array([0.1, 0.2, 0.3, np.nan]),
    }
    assert nonfinite_report(metrics, members) == (
        "non-finite critic/loss at iteration 7 (member 2, seed 0, critic_lr=1000), and in member 3"
    )
    metrics[FIRST_NONFINITE] = np.array([-1, -1, -1, -1])
    assert nonfinite_report(metrics, members) is None
