"""``python -m arena battle import|leaderboard|export`` as a user types them."""

from __future__ import annotations

import json

from tests.helpers import arena


def test_import_rank_and_export_from_the_shell(tmp_path):
    env = {"ARENA_DATA_DIR": str(tmp_path / "data")}
    battles = ([{"model_a": "strong", "model_b": "weak", "winner": "model_a", "judge": f"u{n}"} for n in range(15)]
               + [{"model_a": "weak", "model_b": "strong", "winner": "model_b", "judge": "u99", "anony": True},
                  {"model_a": "strong", "model_b": "weak", "winner": "model_b", "judge": "u98"},
                  {"model_a": "strong", "model_b": "weak", "winner": "tie", "anony": False},
                  {"model_a": "strong", "model_b": "third", "winner": "model_a"}])
    source = tmp_path / "battles.json"
    source.write_text(json.dumps(battles))

    done = arena("battle", "import", str(source), env_extra=env)
    assert done.returncode == 0, done.stderr
    assert "19 votes imported" in done.stdout

    listed = arena("battle", "leaderboard", "--json", env_extra=env)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [row["model"] for row in rows] == ["strong", "weak", "third"]
    assert all({"model", "rating", "lower", "upper", "votes", "rank", "note"} <= set(row) for row in rows)
    assert rows[0]["votes"] == 18 and rows[0]["lower"] <= rows[0]["rating"] <= rows[0]["upper"]
    assert "too few votes" in rows[2]["note"] and rows[2]["votes"] == 1

    table = arena("battle", "leaderboard", env_extra=env)
    assert table.returncode == 0 and "strong" in table.stdout and "too few votes" in table.stdout
    assert "18 votes, 100 bootstrap rounds (seed 0)" in table.stdout
    named = json.loads(arena("battle", "leaderboard", "--voter", "named", "--json", env_extra=env).stdout)
    assert [(row["model"], row["votes"]) for row in named] == [("strong", 1), ("weak", 1)]
    nobody = arena("battle", "leaderboard", "--kind", "image", "--voter", "some-judge", env_extra=env)
    assert nobody.returncode == 0 and "No votes yet for image models from some-judge." in nobody.stdout

    out = tmp_path / "out" / "votes.jsonl"
    exported = arena("battle", "export", "--out", str(out), env_extra=env)
    assert exported.returncode == 0 and "19 votes" in exported.stdout
    assert len(out.read_text().splitlines()) == 19
    named = tmp_path / "named.jsonl"
    assert "1 vote -> " in arena("battle", "export", "--out", str(named), "--voter", "named", env_extra=env).stdout
    assert json.loads(named.read_text())["voter_kind"] == "people_named"
    assert "0 votes" in arena("battle", "export", "--out", str(named), "--kind", "image", env_extra=env).stdout
    csv_out = tmp_path / "votes.csv"
    assert arena("battle", "export", "--out", str(csv_out), env_extra=env).returncode == 0
    assert csv_out.read_text().startswith("id,battle_id,kind,model_a,model_b")

    again = arena("battle", "import", str(out), env_extra={"ARENA_DATA_DIR": str(tmp_path / "other")})
    assert again.returncode == 0 and "19 votes imported" in again.stdout
    other = json.loads(arena("battle", "leaderboard", "--json",
                             env_extra={"ARENA_DATA_DIR": str(tmp_path / "other")}).stdout)
    assert other == rows


def test_bad_input_is_one_sentence(tmp_path):
    env = {"ARENA_DATA_DIR": str(tmp_path / "data")}
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"model_a": "a", "model_b": "b", "winner": "maybe"}\n')
    refused = arena("battle", "import", str(bad), env_extra=env)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert ("bad.jsonl, vote 1: 'winner' is one of 'model_a', 'model_b', 'tie', 'tie (bothbad)', not 'maybe'."
            in refused.stderr)
    missing = arena("battle", "import", str(tmp_path / "none.json"), env_extra=env)
    assert missing.returncode == 2 and "Cannot read none.json" in missing.stderr
    day = arena("battle", "leaderboard", "--since", "yesterday", env_extra=env)
    assert day.returncode == 2 and "dates look like 2026-11-01" in day.stderr


def test_scipy_and_matplotlib_load_only_when_a_board_is_computed():
    import subprocess
    import sys

    import arena.battles.leaderboard
    import arena.battles.ratings
    import arena.cli.battle

    assert arena.cli.battle.ROUNDS == arena.battles.leaderboard.ROUNDS == arena.battles.ratings.ROUNDS
    loaded = subprocess.run([sys.executable, "-c", "import sys, arena.cli, arena.ui.leaderboard; "
                             "print(sorted({m.split('.')[0] for m in sys.modules} & {'scipy', 'matplotlib'}))"],
                            capture_output=True, text=True, timeout=120)
    assert loaded.stdout.strip() == "[]", loaded.stderr
