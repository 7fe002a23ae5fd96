"""Maze layouts, the ASCII-map helpers (mazes.py, register_maze) and the episode-length rules."""

import dataclasses
import json
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from jaxcrl.cli import parse_train_args
from jaxcrl.config import TrainConfig, parse_env_options
from jaxcrl.config_files import config_from_overrides, read_overrides, write_config
from jaxcrl.envs import (
    layout_option,
    make_env,
    portable_env,
    register_maze,
    registered_envs,
    reset_batch,
    step_batch,
)
from jaxcrl.envs.ant import ant_maze_episode_length
from jaxcrl.envs.mazes import (
    LAYOUTS,
    add_layout,
    cells_of,
    check_layout,
    longest_shortest_path,
    parse_goal_region,
    parse_layout,
    path_lengths,
)
from jaxcrl.envs.point_maze import (
    POINT_FROM_CENTRE,
    PointMaze,
    cell_corners,
    largest_success_threshold,
    point_maze_episode_length,
)
from jaxcrl.validation import check_env_fit, validate

MAZE_PRESETS = [
    "point_big",
    "point_hardest",
    "point_spiral",
    "ant_big_maze",
    "ant_hardest_maze",
    "humanoid_big_maze",
    "humanoid_hardest_maze",
]

ZIGZAG = """
#######
#.....#
#####.#
#.....#
#.#####
#...G.#
#######
"""


@pytest.mark.parametrize("layout", ["big", "hardest", "spiral"])
def test_new_layouts_are_bordered_connected_and_of_the_stated_size(layout):
    walls = parse_layout(LAYOUTS[layout])
    check_layout(walls)  # raises unless bordered, connected, >= 2 free cells
    # JaxGCRL's big maze is 8x8 and its hardest 9x12 (borders included); the spiral is 11x11 inside.
    # big and hardest are JaxGCRL's maps (D4RL's antmaze-medium and -large), row for row.
    assert walls.shape == {"big": (8, 8), "hardest": (9, 12), "spiral": (13, 13)}[layout]
    lengths = path_lengths(walls, np.argwhere(~walls))
    assert (lengths[:, ~walls] >= 0).all()  # every free cell reaches every other one


def test_every_layout_passes_check_layout():
    for ascii_map in LAYOUTS.values():
        check_layout(parse_layout(ascii_map))


def test_path_lengths_count_king_moves_and_never_cut_wall_corners():
    walls = parse_layout("#####\n#...#\n#.#.#\n#...#\n#####")
    lengths = path_lengths(walls, np.array([[1, 1]]))[0]
    assert lengths[1, 1] == 0 and lengths[1, 3] == 2 and lengths[3, 3] == 4  # around the pillar
    assert lengths[2, 2] == -1 and lengths[0, 0] == -1  # walls
    open_walls = parse_layout(LAYOUTS["open"])
    assert path_lengths(open_walls, np.array([[1, 1]]))[0][5, 5] == 4  # straight diagonal
    assert longest_shortest_path(parse_layout(LAYOUTS["spiral"])) == 70


def random_maps(count: int, seed: int = 0) -> list[np.ndarray]:
    """Connected maps of random size and wall density, bordered (for comparing with brute force)."""
    rng, maps = np.random.default_rng(seed), []
    while len(maps) < count:
        walls = rng.random(rng.integers(4, 14, 2)) < rng.uniform(0.05, 0.4)
        walls[[0, -1]] = walls[:, [0, -1]] = True
        if (~walls).sum() >= 2 and (path_lengths(walls, np.argwhere(~walls)[:1]) >= 0).sum() == (
            ~walls
        ).sum():
            maps.append(walls)
    return maps


@pytest.mark.parametrize("layout", ["spiral", "hardest", "large", "u_maze"])
def test_the_bounded_diameter_search_finds_what_searching_all_pairs_finds(layout):
    walls = parse_layout(LAYOUTS[layout])
    whole = int(path_lengths(walls, np.argwhere(~walls)).max())
    assert longest_shortest_path(walls) == whole
    assert whole == {"spiral": 70, "hardest": 19, "large": 26, "u_maze": 6}[layout]
    for walls in random_maps(10):
        assert longest_shortest_path(walls) == int(path_lengths(walls, np.argwhere(~walls)).max())


def test_the_largest_threshold_from_the_hull_is_the_one_from_every_cell():
    # The farthest point of the other cells from each goal cell, searched among all of them.
    corners = cell_corners(1, 1)[0, 0] - 0.5  # a cell's extreme points about its centre
    for walls in random_maps(10, seed=1):
        goal_cells = ~walls & (np.random.default_rng(2).random(walls.shape) < 0.5)
        goal_cells = goal_cells if goal_cells.any() else ~walls
        free_points = (np.argwhere(~walls)[:, None, ::-1] + 0.5 + corners).astype(np.float32)
        expected = min(
            float(np.linalg.norm(np.delete(free_points, index, 0) - centre, axis=-1).max())
            for centre, index in (
                (
                    np.float32([col + 0.5, row + 0.5]),
                    np.flatnonzero((np.argwhere(~walls) == (row, col)).all(axis=1))[0],
                )
                for row, col in np.argwhere(goal_cells)
            )
        )
        assert largest_success_threshold(walls, goal_cells) == max(
            expected - POINT_FROM_CENTRE, 0.0
        )


def test_a_large_map_sets_up_in_seconds():
    # A 150x150 map took 80 s to set up (all-pairs searches, and a loop over its goal cells).
    rows = ["#" * 150] + ["#" + "." * 148 + "#"] * 148 + ["#" * 150]
    started = time.perf_counter()
    env = PointMaze(layout="/".join(rows))
    assert time.perf_counter() - started < 15  # 1.5 s on the 2-core CPU
    assert env.episode_length > 147 / 0.25  # the diameter: 147 king moves at 0.25 a step


def test_cells_of_maps_points_to_row_col_cells_of_any_size():
    points = np.array([[0.2, 0.9], [3.5, 1.0], [7.9, 4.1]])  # (x, y)
    np.testing.assert_array_equal(cells_of(points), [[0, 0], [1, 3], [4, 7]])
    np.testing.assert_array_equal(cells_of(points, cell_size=4.0), [[0, 0], [0, 0], [1, 1]])
    assert cells_of(points).shape == (3, 2)


def test_spiral_goals_lie_in_the_marked_centre_and_starts_anywhere():
    region = parse_goal_region(LAYOUTS["spiral"])
    assert region.sum() == 4
    walls = parse_layout(LAYOUTS["spiral"])
    # The goal region is the far end of the corridor: 66+ moves from the entrance corner.
    assert path_lengths(walls, np.array([[1, 1]]))[0][region].min() >= 66
    env = make_env("point_spiral")
    reset = jax.jit(lambda key: reset_batch(env, env.default_params(), key, 256))
    states = reset(jax.random.PRNGKey(0))
    goal_cells = np.floor(np.asarray(states.goal)).astype(int)[:, ::-1]  # (row, col)
    start_cells = np.floor(np.asarray(states.physics)).astype(int)[:, ::-1]
    assert region[tuple(goal_cells.T)].all()
    assert len({tuple(c) for c in start_cells}) > 40  # starts spread over the 71 free cells
    # Maps without a G draw goals anywhere free.
    np.testing.assert_array_equal(
        parse_goal_region(LAYOUTS["u_maze"]), ~parse_layout(LAYOUTS["u_maze"])
    )


@pytest.mark.parametrize("layout", ["#######/#..#..#/#.##.##/#....G#/#######", "#####/#..G#/#####"])
def test_a_one_cell_goal_region_never_holds_the_start(layout):
    # A start drawn inside the only goal cell used to keep a goal beside it: 6% (the README's
    # example) to 21% of episodes began solved.
    env = make_env("point_maze_custom", layout=layout)
    params = env.default_params()
    states = jax.jit(lambda key: reset_batch(env, params, key, 4096))(jax.random.PRNGKey(0))
    start, goal = np.asarray(states.physics), np.asarray(states.goal)
    assert not np.all(np.floor(start) == np.floor(goal), axis=1).any()
    assert np.linalg.norm(start - goal, axis=1).min() > float(params.success_threshold)


@pytest.mark.parametrize(
    "ascii_map, message",
    [
        ("#####\n#...#\n#.#.#\n#...\n#####", "same width"),
        ("#####\n#.x.#\n#####", "only '#'"),
        ("#####\n#####\n#####", "no free cell"),
        ("", "empty"),
        ("#####\n#....\n#####", "wall border"),
        ("....\n#..#\n####", "wall border"),
        ("#####\n#.###\n#####", "at least 2 free cells"),
        ("######\n#..#.#\n######", "not one connected region: 1 free cells, e.g. row 1 column 4"),
    ],
)
def test_add_layout_refuses_bad_maps_naming_the_problem(ascii_map, message):
    with pytest.raises(ValueError, match=message):
        add_layout("bad_map", ascii_map)
    assert "bad_map" not in LAYOUTS


def test_add_layout_refuses_bad_names_and_a_different_map_under_a_taken_name():
    with pytest.raises(ValueError, match="identifier"):
        add_layout("two words", ZIGZAG)
    with pytest.raises(ValueError, match="is built in; pick another name"):
        add_layout("u_maze", ZIGZAG)
    add_layout("u_maze", LAYOUTS["u_maze"])  # the same map again is accepted
    # Rows joined by '/' as the layout option takes them; no map at all is named as such.
    walls = add_layout("zigzag_slashed", "/".join(ZIGZAG.strip().splitlines()))
    np.testing.assert_array_equal(walls, add_layout("zigzag_lines", ZIGZAG))
    with pytest.raises(ValueError, match="the map must be a string"):
        add_layout("no_map", None)


def test_register_maze_builds_resets_and_steps_a_point_an_ant_and_a_humanoid_env():
    names = register_maze("test_zigzag", ZIGZAG)
    assert names == ("point_test_zigzag", "ant_test_zigzag", "humanoid_test_zigzag")
    assert set(names) <= set(registered_envs())
    assert register_maze("test_zigzag", ZIGZAG) == names  # the same map again: a rerun cell
    with pytest.raises(ValueError, match="already exists with a different map; .*replace=True"):
        register_maze("test_zigzag", ZIGZAG.replace("G", "."))
    # A notebook cell edited and run again redefines it (it could only take another name).
    wider = "\n".join(row + "#" for row in ZIGZAG.strip().splitlines())
    assert register_maze("test_redrawn", ZIGZAG) == register_maze("test_redrawn", wider, None, True)
    assert np.shape(make_env("point_test_redrawn").walls) == (7, 8)  # built from the new map
    assert "7x8 maze" in registered_envs()["point_test_redrawn"]
    with pytest.raises(ValueError, match="maze 'u_maze' is built in"):
        add_layout("u_maze", ZIGZAG, replace=True)
    with pytest.raises(ValueError, match="environment 'point_open' is already registered"):
        register_maze("open", ZIGZAG)

    env = make_env("point_test_zigzag")
    params = env.default_params()
    assert longest_shortest_path(parse_layout(ZIGZAG)) == 16  # corner (1, 1) to corner (5, 5)
    assert env.episode_length == 200  # 2.5 * 16 / 0.25 = 160, rounded up to a multiple of 50
    states = jax.jit(lambda key: reset_batch(env, params, key, 16))(jax.random.PRNGKey(0))
    assert (np.floor(np.asarray(states.goal)).astype(int) == [4, 5]).all()  # the one G cell
    step = jax.jit(lambda s, a: step_batch(env, params, s, a))
    for i in range(20):
        states = step(
            states, jax.random.uniform(jax.random.PRNGKey(i), (16, 2), minval=-1.0, maxval=1.0)
        )
    walls = np.asarray(params.walls)
    cells = np.floor(np.asarray(states.physics)).astype(int)
    assert not walls[cells[:, 1], cells[:, 0]].any()

    # The ant maze builds its walls from the same map and resets (stepping MJX is
    # tests/test_envs_mjx.py's job; compiling it here would double this file's time).
    ant = make_env("ant_test_zigzag")
    assert ant.episode_length == 1000
    assert ant.mj_model.ngeom > make_env("ant").mj_model.ngeom  # the wall boxes
    state = jax.jit(ant.reset)(jax.random.PRNGKey(1), ant.default_params())
    assert state.obs.shape == (ant.observation_size,)
    goal_cell = np.floor(np.asarray(state.goal) / ant.cell_size).astype(int)[::-1]
    assert not ant.walls[tuple(goal_cell)]

    humanoid = make_env("humanoid_test_zigzag")
    assert humanoid.mj_model.ngeom > make_env("humanoid").mj_model.ngeom  # the wall boxes
    state = jax.jit(humanoid.reset)(jax.random.PRNGKey(2), humanoid.default_params())
    goal_cell = np.floor(np.asarray(state.goal) / humanoid.cell_size).astype(int)[::-1]
    assert tuple(goal_cell) == (5, 4)  # (row, col) of the one G cell


# Row 0 of a map is its first line, the cell row nearest y = 0: this G lies at y in [1, 2), in
# the bottom free row of a video, though it is on the top free line of the map.
TOP_LINE_GOAL = """
######
#G...#
#.##.#
#....#
######
"""


def test_a_map_given_as_the_layout_option_builds_every_maze_family():
    option = layout_option(TOP_LINE_GOAL)
    assert option == "layout='######/#G...#/#.##.#/#....#/######'"
    overrides = parse_env_options((option,))  # how --env-options and config.yaml are read
    point = make_env("point_maze_custom", **overrides)
    assert point.name == "point_maze_custom"
    np.testing.assert_array_equal(point.walls, parse_layout(TOP_LINE_GOAL))
    states = jax.jit(lambda key: reset_batch(point, point.default_params(), key, 8))(
        jax.random.key(0)
    )
    np.testing.assert_array_equal(np.floor(np.asarray(states.goal)), np.tile([1.0, 1.0], (8, 1)))
    ant = make_env("ant_maze_custom", **overrides)  # builds the model; test_envs_mjx steps mazes
    humanoid = make_env("humanoid_maze_custom", layout=TOP_LINE_GOAL)  # a map on lines works too
    for env in (ant, humanoid):
        np.testing.assert_array_equal(env.walls, point.walls)
        np.testing.assert_allclose(
            env.free_cell_centres[env.goal_cells], [[1.5 * env.cell_size] * 2]
        )
    assert make_env("point_maze_custom", layout="u_maze").walls.shape == (5, 5)  # names still work
    with pytest.raises(ValueError, match="no maze layout given: .* quoted"):
        make_env("point_maze_custom")
    # Unquoted, YAML reads the map from its first '#' on as a comment, and the option as None.
    with pytest.raises(ValueError, match="no maze layout given"):
        make_env("ant_maze_custom", **parse_env_options(("layout=#####/#..G#/#####",)))
    with pytest.raises(ValueError, match="unknown maze layout 'nowhere'"):
        make_env("humanoid_maze_custom", layout="nowhere")
    with pytest.raises(ValueError, match=r"layout '#..G#' is one row, .* rows joined by '/'"):
        make_env("point_maze_custom", layout="#..G#")  # it was an "unknown maze layout"
    with pytest.raises(ValueError, match="wall border"):
        make_env("point_maze_custom", layout="#####/#...#/#....")
    with pytest.raises(ValueError, match="same width"):
        layout_option("#####/#...#/####")


REBUILD_SCRIPT = """
import json, sys
from jaxcrl.config_files import read_run_config
from jaxcrl.envs import make_env
from jaxcrl.program import make_run_env

report = {}
for run_dir in sys.argv[1:]:
    env = make_run_env(read_run_config(run_dir))
    report[run_dir] = [env.name, env.walls.tolist(), env.episode_length]
try:
    make_env("point_test_portable")
except KeyError as error:
    report["unknown"] = str(error)
print(json.dumps(report))
"""


def test_a_registered_maze_run_rebuilds_from_its_config_yaml_in_a_fresh_process(tmp_path):
    register_maze("test_portable", TOP_LINE_GOAL)
    configs = {
        # From the command line, with the map as an option ...
        "point_test_portable": parse_train_args(
            ["--env", "point_maze_custom", "--env-options", layout_option(TOP_LINE_GOAL)]
        ),
    }
    # ... and from Python, a registered maze's name made portable.
    for name in ("ant_test_portable", "humanoid_test_portable"):
        env_name, env_options = portable_env(name, ("success_threshold=0.7",))
        configs[name] = TrainConfig(env=env_name, env_options=env_options)
    assert portable_env("ant_u_maze", ("motor_gear=75",)) == ("ant_u_maze", ("motor_gear=75",))
    for name, config in configs.items():
        (tmp_path / name).mkdir()
        config = dataclasses.replace(config, run_dir=str(tmp_path / name))
        write_config(config, tmp_path / name / "config.yaml", {})  # as a run writes it
    result = subprocess.run(
        [sys.executable, "-c", REBUILD_SCRIPT, *(str(tmp_path / name) for name in configs)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    # The fresh process has never seen register_maze's names, yet builds the same envs.
    assert "register_maze" in report.pop("unknown")
    for name, (env_name, walls, episode_length) in zip(configs, report.values(), strict=True):
        env = make_env(name)
        assert env_name == name.split("_")[0] + "_maze_custom"
        np.testing.assert_array_equal(walls, env.walls)
        assert episode_length == env.episode_length
    ant = make_env("ant_maze_custom", **parse_env_options(configs["ant_test_portable"].env_options))
    assert ant.success_threshold == 0.7


def test_a_layout_option_naming_a_registered_maze_records_its_map(tmp_path):
    # layout=NAME was recorded as the name, which no other process knows: eval.py and --resume
    # failed with "unknown maze layout".
    register_maze("test_named", TOP_LINE_GOAL)
    options = ("layout=test_named", "max_step=0.2")
    assert portable_env("point_maze_custom", options) == (
        "point_maze_custom",
        (layout_option(TOP_LINE_GOAL), "max_step=0.2"),
    )
    assert portable_env("ant_maze_custom", ("layout=u_maze",)) == (
        "ant_maze_custom",
        ("layout=u_maze",),  # a built-in maze: every process knows it
    )


def test_a_registered_maze_given_another_layout_is_refused(tmp_path):
    # It became point_maze_custom and trained on the other map without a word.
    from jaxcrl.config import ConfigError
    from jaxcrl.program import make_run_env

    register_maze("test_own", TOP_LINE_GOAL)
    other = "layout='#####/#..G#/#####'"
    env_name, env_options = portable_env("point_test_own", (other,))
    assert (env_name, env_options) == ("point_test_own", (other,))
    with pytest.raises(ConfigError, match="--env point_test_own is built on its own maze"):
        make_run_env(TrainConfig(env=env_name, env_options=env_options))


def test_point_maze_episode_length_rule():
    # The rule gives the lengths the layouts have had (big and hardest since they became JaxGCRL's
    # maps), and grows with the diameter.
    expected = {"open": 50, "u_maze": 100, "medium": 200, "large": 300, "big": 150}
    expected |= {"hardest": 200, "spiral": 700}
    for layout, length in expected.items():
        assert make_env(f"point_{layout}").episode_length == length, layout
    walls = parse_layout(LAYOUTS["large"])
    assert point_maze_episode_length(walls, max_step=0.5) == 150  # twice as fast, half as long
    assert make_env("point_large", episode_length=77).episode_length == 77


def test_ant_maze_episode_length_rule():
    # JaxGCRL's 1000 steps for u_maze, big and hardest; longer only for long mazes.
    for layout in ["u_maze", "big", "hardest"]:
        assert ant_maze_episode_length(parse_layout(LAYOUTS[layout]), 4.0) == 1000
    assert ant_maze_episode_length(parse_layout(LAYOUTS["spiral"]), 4.0) == 2300


@pytest.mark.parametrize("preset", MAZE_PRESETS)
def test_maze_presets_are_valid(preset):
    config = config_from_overrides(read_overrides(preset))  # found by name as package data
    validate(config, registered_envs())
    env = make_env(config.env)
    assert check_env_fit(config, env.episode_length) is None
    # The buffer holds at least two whole episodes per env copy.
    assert config.buffer_size // config.num_envs >= 2 * env.episode_length


def test_assets_and_presets_are_package_data_from_any_directory(tmp_path):
    script = (
        "from importlib import resources\n"
        "assets = resources.files('jaxcrl.envs').joinpath('assets')\n"
        "presets = resources.files('jaxcrl.configs')\n"
        "print(sorted(p.name for p in assets.iterdir() if p.name.endswith('.xml')))\n"
        "print(sorted(p.name for p in presets.iterdir() if p.name.endswith('.yaml')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assets, presets = result.stdout.strip().splitlines()[-2:]
    assert "'ant.xml'" in assets and "'reacher.xml'" in assets
    for preset in MAZE_PRESETS:
        assert f"'{preset}.yaml'" in presets


def test_a_run_of_a_registered_maze_records_the_map_in_its_config(tmp_path):
    from tiny_runs import TINY

    from jaxcrl.config_files import read_run_config
    from jaxcrl.run import train

    register_maze("test_recorded", ZIGZAG)
    run_dir = tmp_path / "run"
    config = dataclasses.replace(
        TINY, env="point_test_recorded", run_dir=str(run_dir), progress=False, num_evals=1
    )
    train(config)
    saved = read_run_config(run_dir)  # what eval.py and --resume rebuild, in any process
    assert saved.env == "point_maze_custom"
    assert saved.env_options == (layout_option(ZIGZAG),)


@pytest.mark.parametrize("robot, noise", [("ant", 1.5), ("humanoid", 0.4)])
def test_reset_noise_that_could_start_a_walker_in_a_wall_is_refused(robot, noise):
    # The noise moves the torso as well: ant_maze_custom with reset_noise 1.5 started 22 of 512
    # torsos inside wall cells.
    with pytest.raises(ValueError, match=rf"reset_noise={noise:g} with cell_jitter=.*a start may"):
        make_env(f"{robot}_u_maze", reset_noise=noise)
    with pytest.raises(ValueError, match=r"give reset_noise in \[0, "):
        make_env(f"{robot}_u_maze", reset_noise=-0.1)
