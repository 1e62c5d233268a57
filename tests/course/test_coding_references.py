"""The answers of phase 5's coding-interview notebook against brute-force references.

The notebook grades a learner by comparing their values with the solution notebook's values
under the same seed, so the solution must be right: here each answer cell of
``solutions/phase5-first-role/01-coding-interviews.ipynb`` (the cells whose grade_id ends in
``-solution``), and each honest alternative of it, is executed on its own and compared with an
obviously-correct brute force on a few hundred random inputs drawn from many seeds, plus the
edge cases (empty input, one element, duplicates, negatives, no answer). The brute forces live
here, never in the notebook.

The second half runs the notebook's work counter (its setup cell, each cell compiled as its own
file in one folder, as ipykernel does) on the inputs of each visible complexity check: the
solution and every honest alternative must be "within" the required class with the same
answers, and each slower answer in SLOWER (quadratic, exponential, a hidden scan per step,
elements turned into plain ints first) must be right on the random inputs yet "worse than" it.
"""

from __future__ import annotations

import copy
import itertools
import random
import re
from collections import Counter
from pathlib import Path

import nbformat
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
FOLDER = REPO / "solutions" / "phase5-first-role"
NOTEBOOK = FOLDER / "01-coding-interviews.ipynb"
ALTERNATIVES = FOLDER / "alternatives" / "01-coding-interviews.yaml"
SEEDS = range(12)
PER_SEED = 30  # 12 seeds x 30 = 360 random inputs per problem


def solution_cells() -> dict[str, str]:
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    cells = {}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if cell.cell_type == "code" and grade_id.endswith("-solution"):
            cells[grade_id] = cell.source
    return cells


def variants() -> list[tuple[str, dict[str, str]]]:
    found = [("solution", solution_cells())]
    for alternative in yaml.safe_load(ALTERNATIVES.read_text()):
        found.append((alternative["name"], {**found[0][1], **alternative["answers"]}))
    return found


VARIANTS = variants()


def load(cells: dict[str, str], grade_id: str, name: str):
    namespace: dict = {"__name__": "answer"}
    exec(compile(cells[grade_id], f"<{grade_id}>", "exec"), namespace)
    return namespace[name]


# --- brute-force references -----------------------------------------------------------------


def two_sum_ref(nums, target):
    for j in range(len(nums)):
        for i in range(j):
            if nums[i] + nums[j] == target:
                return (i, j)
    return None


def trap_ref(heights):
    return sum(min(max(heights[: i + 1]), max(heights[i:])) - h for i, h in enumerate(heights))


def longest_unique_ref(s):
    best = 0
    for i in range(len(s)):
        for j in range(i, len(s) + 1):
            if len(set(s[i:j])) == j - i:
                best = max(best, j - i)
    return best


def search_rotated_ref(nums, target):
    return nums.index(target) if target in nums else -1


def top_k_ref(nums, k):
    counts = {v: nums.count(v) for v in set(nums)}
    return sorted(counts, key=lambda v: (-counts[v], v))[:k]


def shortest_path_ref(grid):
    # Relax every open cell's distance from its neighbours until nothing changes (Bellman-Ford).
    if not grid or not grid[0] or grid[0][0] == "#" or grid[-1][-1] == "#":
        return -1
    rows, cols = len(grid), len(grid[0])
    inf = float("inf")
    dist = {(r, c): inf for r in range(rows) for c in range(cols) if grid[r][c] == "."}
    dist[(0, 0)] = 0
    changed = True
    while changed:
        changed = False
        for (r, c), d in list(dist.items()):
            for cell in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if cell in dist and dist[cell] + 1 < d:
                    d = dist[(r, c)] = dist[cell] + 1
                    changed = True
    best = dist[(rows - 1, cols - 1)]
    return -1 if best == inf else best


def coin_change_ref(coins, amount):
    # Every multiset of coins, by size: the first size that adds up wins.
    if amount == 0:
        return 0
    for size in range(1, amount // min(coins) + 1):
        for combo in itertools.combinations_with_replacement(coins, size):
            if sum(combo) == amount:
                return size
    return -1


def merge_ref(intervals):
    blocks = [list(iv) for iv in intervals]
    merged = True
    while merged:
        merged = False
        for a, b in itertools.combinations(range(len(blocks)), 2):
            x, y = blocks[a], blocks[b]
            if x[0] <= y[1] and y[0] <= x[1]:
                blocks[a] = [min(x[0], y[0]), max(x[1], y[1])]
                del blocks[b]
                merged = True
                break
    return sorted(blocks)


# --- random inputs ---------------------------------------------------------------------------


def gen_two_sum(rng):
    nums = [rng.randint(-15, 15) for _ in range(rng.randint(0, 25))]
    if len(nums) >= 2 and rng.random() < 0.7:
        i, j = rng.sample(range(len(nums)), 2)
        return nums, nums[i] + nums[j]
    return nums, rng.randint(-35, 35)


def gen_bars(rng):
    top = rng.randint(0, 12)
    return ([rng.randint(0, top) for _ in range(rng.randint(0, 25))],)


def gen_text(rng):
    alphabet = rng.choice(["ab", "abcde", "abcdefghijklmnopqrstuvwxyz", "日本語éß ab"])
    return ("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))),)


def gen_rotated(rng):
    values = sorted(rng.sample(range(-50, 50), rng.randint(0, 25)))
    shift = rng.randrange(len(values)) if values else 0
    nums = values[shift:] + values[:shift]
    target = rng.choice(nums) if nums and rng.random() < 0.6 else rng.randint(-60, 60)
    return nums, target


def gen_frequent(rng):
    return [rng.randint(-6, 6) for _ in range(rng.randint(0, 30))], rng.randint(0, 9)


def gen_maze(rng):
    rows, cols = rng.randint(1, 7), rng.randint(1, 7)
    density = rng.choice([0.0, 0.25, 0.35, 0.5])
    grid = [["#" if rng.random() < density else "." for _ in range(cols)] for _ in range(rows)]
    if rng.random() < 0.8:
        grid[0][0] = grid[-1][-1] = "."
    return (["".join(row) for row in grid],)


def gen_coins(rng):
    return sorted(rng.sample(range(1, 13), rng.randint(1, 4))), rng.randint(0, 40)


def gen_intervals(rng):
    ivs = []
    for _ in range(rng.randint(0, 12)):
        start = rng.randint(-20, 20)
        ivs.append([start, start + rng.randint(0, 7)])
    return (ivs,)


PROBLEMS = {
    "two-sum": (
        "two_sum",
        two_sum_ref,
        gen_two_sum,
        [
            ([], 0),
            ([5], 10),
            ([3, 3], 6),
            ([1, 1, 1], 2),
            ([-3, 4, 3, 90], 0),
            ([0, 0], 1),
            ([3, 2, 4, 3], 6),
            ([2, 7, 11, 15], 9),
            ([-1, -2, -3], -5),
        ],
    ),
    "rain-water": (
        "trap_water",
        trap_ref,
        gen_bars,
        [
            ([],),
            ([5],),
            ([2, 0],),
            ([0, 1, 0, 2, 1, 0, 1, 3, 2, 1, 2, 1],),
            ([4, 2, 0, 3, 2, 5],),
            ([3, 3, 3],),
            ([1, 2, 3],),
            ([3, 2, 1],),
            ([5, 0, 5],),
        ],
    ),
    "longest-unique": (
        "longest_unique",
        longest_unique_ref,
        gen_text,
        [
            ("",),
            ("a",),
            ("bbbbb",),
            ("abcabcbb",),
            ("pwwkew",),
            ("abba",),
            ("tmmzuxt",),
            ("dvdf",),
            ("  ",),
            ("日本語日",),
        ],
    ),
    "rotated-search": (
        "search_rotated",
        search_rotated_ref,
        gen_rotated,
        [
            ([], 5),
            ([1], 1),
            ([1], 0),
            ([2, 1], 1),
            ([2, 1], 2),
            ([1, 2], 3),
            ([4, 5, 6, 7, 0, 1, 2], 0),
            ([4, 5, 6, 7, 0, 1, 2], 3),
            ([-5, -2, 3, 8], 8),
        ],
    ),
    "top-k-frequent": (
        "top_k_frequent",
        top_k_ref,
        gen_frequent,
        [
            ([], 0),
            ([], 3),
            ([5], 3),
            ([3, 3, 1], 0),
            ([1, 1, 1, 2, 2, 3], 2),
            ([4, 4, -1, -1, 7], 3),
            ([-3, -3, 3, 3, 0], 2),
            ([1] * 5 + [2] * 5, 1),
        ],
    ),
    "grid-path": (
        "shortest_path",
        shortest_path_ref,
        gen_maze,
        [
            ([],),
            (["."],),
            (["#"],),
            (["#."],),
            ([".#"],),
            ([".#", "#."],),
            (["..", ".."],),
            ([".#.", ".#.", "..."],),
            ([".", "#", "."],),
            (["...", "##.", "...", ".##", "..."],),
        ],
    ),
    "coin-change": (
        "coin_change",
        coin_change_ref,
        gen_coins,
        [
            ([1], 0),
            ([7], 0),
            ([2], 3),
            ([3], 1),
            ([1, 2, 5], 11),
            ([1, 3, 4], 6),
            ([5, 3], 7),
            ([5, 3], 8),
            ([1, 7, 10], 14),
            ([4, 9], 2),
        ],
    ),
    "merge-intervals": (
        "merge_intervals",
        merge_ref,
        gen_intervals,
        [
            ([],),
            ([[2, 2]],),
            ([[1, 4], [4, 5]],),
            ([[5, 7], [1, 10]],),
            ([[1, 1], [1, 1]],),
            ([[0, 0], [1, 1]],),
            ([[-3, -1]],),
            ([[4, 6], [1, 3]],),
            ([[1, 3], [2, 6], [8, 10], [15, 18]],),
        ],
    ),
}


def normalised(problem, value):
    if problem == "two-sum":
        return None if value is None else tuple(value)
    if problem in ("top-k-frequent",):
        return list(value)
    if problem == "merge-intervals":
        return [list(block) for block in value]
    return value


@pytest.mark.parametrize("variant", [name for name, _ in VARIANTS])
@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_answer_agrees_with_brute_force(problem, variant):
    cells = dict(VARIANTS)[variant]
    name, reference, generate, edges = PROBLEMS[problem]
    answer = load(cells, f"{problem}-solution", name)
    inputs = list(edges)
    for seed in SEEDS:
        rng = random.Random(seed * 1000 + len(problem))
        inputs += [generate(rng) for _ in range(PER_SEED)]
    for args in inputs:
        given = copy.deepcopy(list(args))
        before = repr(given)
        expected = reference(*copy.deepcopy(args))
        got = normalised(problem, answer(*given))
        assert got == expected, f"{variant} {name}{args!r}: {got!r}, brute force {expected!r}"
        assert repr(given) == before, f"{variant} {name} changed its input {args!r}"


def test_the_references_agree_with_each_other_on_known_answers():
    assert two_sum_ref([3, 2, 4, 3], 6) == (1, 2)
    assert trap_ref([0, 1, 0, 2, 1, 0, 1, 3, 2, 1, 2, 1]) == 6
    assert longest_unique_ref("pwwkew") == 3
    assert top_k_ref([4, 4, -1, -1, 7], 3) == [-1, 4, 7]
    assert shortest_path_ref([".#.", ".#.", "..."]) == 4
    assert coin_change_ref([1, 3, 4], 6) == 2
    assert merge_ref([[1, 3], [2, 6], [8, 10], [15, 18]]) == [[1, 6], [8, 10], [15, 18]]
    assert Counter(top_k_ref([1, 1, 2], 5)) == Counter([1, 2])


# --- the complexity check: honest answers pass it, slower ones fail it -------------------

# Slower answers (quadratic, exponential, or a hidden scan per step): each must pass the
# correctness of its exercise but lose the complexity point. They are not honest alternatives,
# so they live here and never in alternatives/*.yaml.
SLOWER = {
    "two-sum": {
        "brute": """\
def two_sum(nums, target):
    for j in range(len(nums)):
        for i in range(j):
            if nums[i] + nums[j] == target:
                return (i, j)
    return None
""",
        "sneaky-ints": """\
def two_sum(nums, target):
    plain = [int(x) for x in nums]
    t = int(target)
    for j in range(len(plain)):
        for i in range(j):
            if plain[i] + plain[j] == t:
                return (i, j)
    return None
""",
        "list-of-seen": """\
def two_sum(nums, target):
    seen = []
    for j, x in enumerate(nums):
        want = int(target - x)
        if want in seen:
            return (seen.index(want), j)
        seen.append(int(x))
    return None
""",
    },
    "rain-water": {
        "brute-max-slices": """\
def trap_water(heights):
    total = 0
    for i in range(len(heights)):
        total += min(max(heights[:i + 1]), max(heights[i:])) - heights[i]
    return total
""",
        "sneaky-ints": """\
def trap_water(heights):
    h = [int(x) for x in heights]
    total = 0
    for i in range(len(h)):
        lm = 0
        for j in range(i + 1):
            lm = max(lm, h[j])
        rm = 0
        for j in range(i, len(h)):
            rm = max(rm, h[j])
        total += min(lm, rm) - h[i]
    return total
""",
    },
    "longest-unique": {
        "brute-expand": """\
def longest_unique(s):
    best = 0
    for i in range(len(s)):
        seen = set()
        for j in range(i, len(s)):
            if s[j] in seen:
                break
            seen.add(s[j])
        best = max(best, len(seen))
    return best
""",
        "window-in-slice": """\
def longest_unique(s):
    best = start = 0
    for j in range(len(s)):
        while s[j] in s[start:j]:
            start += 1
        best = max(best, j - start + 1)
    return best
""",
        "sneaky-str": """\
def longest_unique(s):
    s = str(s)
    best = start = 0
    for j in range(len(s)):
        k = s.find(s[j], start, j)
        if k >= 0:
            start = k + 1
        best = max(best, j - start + 1)
    return best
""",
    },
    "rotated-search": {
        "linear-scan": """\
def search_rotated(nums, target):
    for i, x in enumerate(nums):
        if x == target:
            return i
    return -1
""",
        "index-in": """\
def search_rotated(nums, target):
    return nums.index(target) if target in nums else -1
""",
    },
    "top-k-frequent": {
        "count-per-value": """\
def top_k_frequent(nums, k):
    values = sorted(set(nums))
    counted = [(nums.count(v), v) for v in values]
    counted.sort(key=lambda cv: (-cv[0], cv[1]))
    return [v for _, v in counted[:k]]
""",
        "repeated-max": """\
def top_k_frequent(nums, k):
    counts = {}
    for x in nums:
        counts[x] = counts.get(x, 0) + 1
    items = [[c, v] for v, c in counts.items()]
    out = []
    for _ in range(min(k, len(items))):
        best = 0
        for i in range(1, len(items)):
            if (items[i][0], -items[i][1]) > (items[best][0], -items[best][1]):
                best = i
        out.append(items.pop(best)[1])
    return out
""",
        "max-of-dict-k-times": """\
def top_k_frequent(nums, k):
    counts = {}
    for x in nums:
        counts[x] = counts.get(x, 0) + 1
    out = []
    for _ in range(min(k, len(counts))):
        top = max(counts, key=lambda v: (counts[v], -v))
        out.append(top)
        del counts[top]
    return out
""",
    },
    "grid-path": {
        "visited-list": """\
from collections import deque
def shortest_path(grid):
    if not grid or not grid[0]:
        return -1
    R, C = len(grid), len(grid[0])
    if grid[0][0] == "#" or grid[R-1][C-1] == "#":
        return -1
    visited = [(0, 0)]
    q = deque([(0, 0, 0)])
    while q:
        r, c, d = q.popleft()
        if (r, c) == (R - 1, C - 1):
            return d
        for nr, nc in ((r+1, c), (r-1, c), (r, c+1), (r, c-1)):
            if 0 <= nr < R and 0 <= nc < C and grid[nr][nc] == "." and (nr, nc) not in visited:
                visited.append((nr, nc))
                q.append((nr, nc, d + 1))
    return -1
""",
        "pop-front": """\
def shortest_path(grid):
    if not grid or not grid[0]:
        return -1
    R, C = len(grid), len(grid[0])
    if grid[0][0] == "#" or grid[R-1][C-1] == "#":
        return -1
    dist = {(0, 0): 0}
    q = [(0, 0)]
    while q:
        r, c = q.pop(0)
        if (r, c) == (R - 1, C - 1):
            return dist[(r, c)]
        for nr, nc in ((r+1, c), (r-1, c), (r, c+1), (r, c-1)):
            if 0 <= nr < R and 0 <= nc < C and grid[nr][nc] == "." and (nr, nc) not in dist:
                dist[(nr, nc)] = dist[(r, c)] + 1
                q.append((nr, nc))
    return -1
""",
        "relax-until-stable": """\
def shortest_path(grid):
    if not grid or not grid[0]:
        return -1
    R, C = len(grid), len(grid[0])
    if grid[0][0] == "#" or grid[R-1][C-1] == "#":
        return -1
    INF = float("inf")
    d = [[INF] * C for _ in range(R)]
    d[0][0] = 0
    changed = True
    while changed:
        changed = False
        for r in range(R):
            for c in range(C):
                if grid[r][c] == "#" or d[r][c] == INF:
                    continue
                for nr, nc in ((r+1, c), (r-1, c), (r, c+1), (r, c-1)):
                    if 0 <= nr < R and 0 <= nc < C and grid[nr][nc] == "." and d[nr][nc] > d[r][c] + 1:
                        d[nr][nc] = d[r][c] + 1
                        changed = True
    return -1 if d[R-1][C-1] == INF else d[R-1][C-1]
""",
        "sorted-list-queue": """\
def shortest_path(grid):
    if not grid or not grid[0]:
        return -1
    R, C = len(grid), len(grid[0])
    if grid[0][0] == "#" or grid[R-1][C-1] == "#":
        return -1
    best = {(0, 0): 0}
    frontier = [(0, 0, 0)]
    while frontier:
        frontier.sort(reverse=True)
        d, r, c = frontier.pop()
        if (r, c) == (R - 1, C - 1):
            return d
        for nr, nc in ((r+1, c), (r-1, c), (r, c+1), (r, c-1)):
            if 0 <= nr < R and 0 <= nc < C and grid[nr][nc] == "." and d + 1 < best.get((nr, nc), R * C):
                best[(nr, nc)] = d + 1
                frontier.append((d + 1, nr, nc))
    return -1
""",
        "min-of-list": """\
def shortest_path(grid):
    if not grid or not grid[0]:
        return -1
    R, C = len(grid), len(grid[0])
    if grid[0][0] == "#" or grid[R-1][C-1] == "#":
        return -1
    best = {(0, 0): 0}
    frontier = [(0, 0, 0)]
    done = set()
    while frontier:
        d, r, c = min(frontier)
        frontier.remove((d, r, c))
        if (r, c) in done:
            continue
        done.add((r, c))
        if (r, c) == (R - 1, C - 1):
            return d
        for nr, nc in ((r+1, c), (r-1, c), (r, c+1), (r, c-1)):
            if 0 <= nr < R and 0 <= nc < C and grid[nr][nc] == "." and d + 1 < best.get((nr, nc), R * C):
                best[(nr, nc)] = d + 1
                frontier.append((d + 1, nr, nc))
    return -1
""",
    },
    "coin-change": {
        "plain-recursion": """\
def coin_change(coins, amount):
    def best(a):
        if a == 0:
            return 0
        answers = [best(a - c) for c in coins if c <= a]
        answers = [x for x in answers if x >= 0]
        return 1 + min(answers) if answers else -1
    return best(amount)
""",
        "pairs-of-amounts": """\
def coin_change(coins, amount):
    INF = float("inf")
    f = [0] + [INF] * amount
    for a in range(1, amount + 1):
        for b in range(a):
            if (a - b) in coins and f[b] + 1 < f[a]:
                f[a] = f[b] + 1
    return -1 if f[amount] == INF else f[amount]
""",
    },
    "merge-intervals": {
        "pairwise-until-stable": """\
def merge_intervals(intervals):
    blocks = [list(iv) for iv in intervals]
    merged_any = True
    while merged_any:
        merged_any = False
        for i in range(len(blocks)):
            for j in range(i + 1, len(blocks)):
                a, b = blocks[i], blocks[j]
                if a[0] <= b[1] and b[0] <= a[1]:
                    blocks[i] = [min(a[0], b[0]), max(a[1], b[1])]
                    del blocks[j]
                    merged_any = True
                    break
            if merged_any:
                break
    return sorted(blocks)
""",
        "insertion-sort": """\
def merge_intervals(intervals):
    ordered = []
    for iv in intervals:
        k = len(ordered)
        while k > 0 and ordered[k - 1][0] > iv[0]:
            k -= 1
        ordered.insert(k, list(iv))
    out = []
    for s, e in ordered:
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return out
""",
    },
}
EXPONENTIAL = {("coin-change", "plain-recursion")}  # too slow to check on the random inputs


def code_cells() -> dict[str, str]:
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    return {
        cell.metadata.get("nbgrader", {}).get("grade_id", cell.get("id")): cell.source
        for cell in nb.cells
        if cell.cell_type == "code"
    }


def measurement(problem: str) -> tuple[str, str]:
    """The visible work(...) call of a complexity cell and the class it requires."""
    source = code_cells()[f"{problem}-complexity"]
    call = re.search(r"^growth = (work\(.+\))$", source, re.MULTILINE)
    required = re.search(r'growth\.within\("([^"]+)"\)', source)
    assert call and required, f"{problem}-complexity: no work(...) call found"
    return call.group(1), required.group(1)


@pytest.fixture(scope="module")
def counter(tmp_path_factory):
    """The notebook's setup cell run as a notebook cell would be: every cell its own file in one folder."""
    folder = tmp_path_factory.mktemp("cells")
    namespace: dict = {"__name__": "__main__", "seed": 0}
    made = itertools.count()

    def run(source: str) -> None:
        exec(compile(source, str(folder / f"{next(made)}.py"), "exec"), namespace)

    run(code_cells()["setup"])
    return namespace, run


def measured(counter, problem: str, answer_source: str):
    namespace, run = counter
    run(answer_source)
    call, required = measurement(problem)
    report = eval(call, namespace)
    return report, report.within(required)


@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_honest_answers_pass_the_complexity_check_with_the_same_answers(counter, problem):
    reports = {name: measured(counter, problem, cells[f"{problem}-solution"]) for name, cells in VARIANTS}
    for name, (report, verdict) in reports.items():
        assert verdict.startswith("within"), f"{name} {problem}: {report!r}"
        assert report.answers == reports["solution"][0].answers, f"{name} {problem}: other answers"


@pytest.mark.parametrize(
    ("problem", "variant"),
    [(problem, variant) for problem, variants in SLOWER.items() for variant in variants],
)
def test_slower_answers_are_right_but_fail_the_complexity_check(counter, problem, variant):
    source = SLOWER[problem][variant]
    report, verdict = measured(counter, problem, source)
    assert verdict.startswith("worse than"), f"{variant} {problem}: {report!r}"
    if (problem, variant) in EXPONENTIAL:
        return
    name, reference, generate, edges = PROBLEMS[problem]
    answer = load({"x": source}, "x", name)
    rng = random.Random(len(variant))
    for args in list(edges) + [generate(rng) for _ in range(60)]:
        got = normalised(problem, answer(*copy.deepcopy(args)))
        assert got == reference(*copy.deepcopy(args)), f"{variant} {name}{args!r}: {got!r}"
