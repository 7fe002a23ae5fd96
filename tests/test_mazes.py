"""Maze layouts, the ASCII-map helpers (mazes.py, register_maze) and the episode-length rules."""

import subprocess
import sys

import jax
import numpy as np
import pytest

from jaxcrl.config import check_env_fit, config_from_overrides, read_overrides, validate
from jaxcrl.envs import make_env, register_maze, registered_envs, reset_batch, step_batch
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
from jaxcrl.envs.point_maze import point_maze_episode_length

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
    with pytest.raises(ValueError, match="already exists"):
        add_layout("u_maze", ZIGZAG)
    add_layout("u_maze", LAYOUTS["u_maze"])  # the same map again is accepted


def test_register_maze_builds_resets_and_steps_a_point_an_ant_and_a_humanoid_env():
    names = register_maze("test_zigzag", ZIGZAG)
    assert names == ("point_test_zigzag", "ant_test_zigzag", "humanoid_test_zigzag")
    assert set(names) <= set(registered_envs())
    with pytest.raises(ValueError, match="already registered"):
        register_maze("test_zigzag", ZIGZAG)

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


def test_point_maze_episode_length_rule():
    # The rule keeps the lengths the original layouts always had, and grows with the diameter.
    expected = {"open": 50, "u_maze": 100, "medium": 200, "large": 300, "big": 200}
    expected |= {"hardest": 350, "spiral": 700}
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
    check_env_fit(config, env.episode_length)
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
