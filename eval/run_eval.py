"""`make eval`: how well the classifier the models use does, and how fast.

1. is_complaint on the external yardstick `../shared/data/complaints/complaints_dev.csv`
   (hand-labelled English tweets to brands; skipped when absent): macro-F1,
   precision and recall per class, confusion matrix. Nothing in the lexicon is
   fitted on it; by default no single post of it is printed.
2. Accuracy per label on the project's own German + English set
   (`eval/labelled_posts.csv`, written by hand for this purpose): case kind,
   is_complaint, topic, language, follow-up event, private channel, technician,
   agent signature, address form, emoji, small talk.
3. Throughput: posts per second on one core (DuckDB `SET threads = 1`).

Exit status 1 when a target is missed (macro-F1 >= 0.75, every own-set label
>= 0.90, >= 20,000 posts/s).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import duckdb

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from carewatch.classify import classify_table  # noqa: E402

DEV_SET = PROJECT_ROOT.parent / "shared" / "data" / "complaints" / "complaints_dev.csv"
OWN_SET = PROJECT_ROOT / "eval" / "labelled_posts.csv"

TARGET_MACRO_F1 = 0.75
TARGET_ACCURACY = 0.90
TARGET_POSTS_PER_S = 20_000

# label column -> (SQL for the prediction, which rows carry the label)
OWN_LABELS = {
    "case_kind": ("o.case_kind", "role = 'customer_opening'"),
    "is_complaint": ("cast(o.is_complaint as varchar)", "role = 'customer_opening'"),
    "topic": ("o.topic", "role = 'customer_opening'"),
    "language": ("o.language", "true"),
    "follow_up_event": (
        "case when o.says_unresolved then 'still_unresolved' "
        "when o.says_resolved then 'resolved_confirmation' else 'none' end",
        "role = 'customer_follow_up'",
    ),
    "asks_private_channel": ("cast(o.asks_private_channel as varchar)", "role = 'brand_reply'"),
    "mentions_technician": ("cast(o.mentions_technician as varchar)", "true"),
    "agent": ("coalesce(o.agent, '(none)')", "role = 'brand_reply'"),
    "address_form": ("o.address_form", "role = 'brand_reply'"),
    "uses_emoji": ("cast(o.uses_emoji as varchar)", "true"),
    "has_small_talk": ("cast(o.has_small_talk as varchar)", "role = 'brand_reply'"),
}


def evaluate_dev(con: duckdb.DuckDBPyConnection, show_errors: int) -> dict | None:
    if not DEV_SET.is_file():
        print(f"dev set: {DEV_SET} not found, skipped")
        return None
    con.execute(
        "create or replace temp table dev as select * from read_csv(?, header = true, "
        "all_varchar = true)",
        [str(DEV_SET)],
    )
    classify_table(con, "dev", "text", "dev_out")
    rows = con.execute(
        "select cast(dev.is_complaint as integer) as truth, cast(o.is_complaint as integer) "
        "as predicted, count(*) from dev join dev_out as o on dev.rowid = o.cw_row_id "
        "group by all"
    ).fetchall()
    counts = {(t, p): n for t, p, n in rows}
    tp, fp = counts.get((1, 1), 0), counts.get((0, 1), 0)
    fn, tn = counts.get((1, 0), 0), counts.get((0, 0), 0)
    per_class = {}
    for name, (hit, false_pos, miss) in {
        "complaint": (tp, fp, fn),
        "not_complaint": (tn, fn, fp),
    }.items():
        precision = hit / (hit + false_pos) if hit + false_pos else 0.0
        recall = hit / (hit + miss) if hit + miss else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": hit + miss,
        }
    macro_f1 = (per_class["complaint"]["f1"] + per_class["not_complaint"]["f1"]) / 2
    total = tp + fp + fn + tn
    print(f"dev set: {DEV_SET.name}, {total} posts ({tp + fn} complaints)")
    print(f"  macro-F1   {macro_f1:.3f}   (target >= {TARGET_MACRO_F1})")
    print(f"  accuracy   {(tp + tn) / total:.3f}")
    for name, m in per_class.items():
        print(
            f"  {name:<14} P {m['precision']:.3f}  R {m['recall']:.3f}  "
            f"F1 {m['f1']:.3f}  (n={m['support']})"
        )
    print("  confusion matrix (rows: truth, columns: predicted)")
    print("                  complaint  not_complaint")
    print(f"  complaint       {tp:>9}  {fn:>13}")
    print(f"  not_complaint   {fp:>9}  {tn:>13}")
    if show_errors:
        for truth, label in ((1, "missed complaints"), (0, "false complaints")):
            sample = con.execute(
                "select o.complaint_score, dev.text from dev join dev_out as o "
                "on dev.rowid = o.cw_row_id where cast(dev.is_complaint as integer) = ? "
                "and o.is_complaint <> (? = 1) order by hash(dev.tweet_id) limit ?",
                [truth, truth, show_errors],
            ).fetchall()
            print(f"  {label} (sample):")
            for score, text in sample:
                print(f"    [{score:+.1f}] {text}")
    return {
        "posts": total,
        "macro_f1": macro_f1,
        "per_class": per_class,
        "confusion": {"tp": tp, "fn": fn, "fp": fp, "tn": tn},
    }


def evaluate_own(con: duckdb.DuckDBPyConnection, verbose: bool) -> dict:
    con.execute(
        "create or replace temp table own as select * from read_csv(?, header = true, "
        "all_varchar = true)",
        [str(OWN_SET)],
    )
    classify_table(con, "own", "text", "own_out")
    n_posts = con.execute("select count(*) from own").fetchone()[0]
    print(f"own set: {OWN_SET.relative_to(PROJECT_ROOT)}, {n_posts} posts")
    results = {}
    for label, (prediction, scope) in OWN_LABELS.items():
        column = "label_" + label if label not in ("language", "is_complaint") else label
        truth = {
            "language": "own.language",
            "is_complaint": "cast(own.label_case_kind = 'complaint' as varchar)",
        }.get(label, f"own.{column}")
        rows = con.execute(
            f"select own.post_id, {truth} as truth, {prediction} as predicted, own.text "
            "from own join own_out as o on own.rowid = o.cw_row_id "
            f"where {scope} and {truth} is not null and {truth} <> '' order by own.post_id"
        ).fetchall()
        correct = sum(1 for _, t, p, _ in rows if str(t).lower() == str(p).lower())
        accuracy = correct / len(rows) if rows else 0.0
        results[label] = {"accuracy": accuracy, "n": len(rows)}
        flag = "" if accuracy >= TARGET_ACCURACY else "   <- below target"
        print(f"  {label:<22} {accuracy:.3f}  ({correct}/{len(rows)}){flag}")
        if verbose:
            for post_id, t, p, text in rows:
                if str(t).lower() != str(p).lower():
                    print(f"      {post_id}: want {t}, got {p}: {text}")
    return results


def measure_throughput(con: duckdb.DuckDBPyConnection, n_posts: int, repeats: int = 3) -> float:
    """Posts per second on one core, on n_posts built from the own set's texts.

    DuckDB runs with one thread; the figure is posts per CPU-second of this
    process (best of `repeats` runs), which a busy machine does not distort.
    The wall-clock time of the same runs is printed beside it.
    """
    con.execute("set threads = 1")
    con.execute(
        "create or replace temp table bench as "
        "select own.text || ' ' || cast(i as varchar) as text "
        "from range(?) as r(i) "
        "join (select row_number() over () - 1 as k, text from own) as own "
        "on own.k = i % (select count(*) from own)",
        [n_posts],
    )
    classify_table(con, "bench", "text", "bench_out")  # compiles once, warms caches
    cpu_times, wall_times = [], []
    for _ in range(repeats):
        cpu, wall = time.process_time(), time.perf_counter()
        classify_table(con, "bench", "text", "bench_out")
        cpu_times.append(time.process_time() - cpu)
        wall_times.append(time.perf_counter() - wall)
    rate = n_posts / min(cpu_times)
    print(
        f"throughput: {n_posts} posts, one thread: {rate:,.0f} posts per CPU-second "
        f"(best of {repeats}: {min(cpu_times):.2f} s CPU; wall clock "
        f"{min(wall_times):.2f}-{max(wall_times):.2f} s) (target >= {TARGET_POSTS_PER_S:,})"
    )
    return rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="list the own set's errors")
    parser.add_argument(
        "--show-dev-errors",
        type=int,
        default=0,
        metavar="N",
        help="print N misclassified dev posts of each kind (for the write-up, not for tuning)",
    )
    parser.add_argument("--bench-posts", type=int, default=200_000, help="0 skips the benchmark")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    con = duckdb.connect()
    figures: dict = {}
    failures: list[str] = []
    figures["dev"] = evaluate_dev(con, args.show_dev_errors)
    if figures["dev"] and figures["dev"]["macro_f1"] < TARGET_MACRO_F1:
        failures.append("dev macro-F1")
    print()
    figures["own"] = evaluate_own(con, args.verbose)
    failures += [k for k, v in figures["own"].items() if v["accuracy"] < TARGET_ACCURACY]
    print()
    if args.bench_posts:
        figures["posts_per_second"] = measure_throughput(con, args.bench_posts)
        if figures["posts_per_second"] < TARGET_POSTS_PER_S:
            failures.append("throughput")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    if failures:
        print(f"\nbelow target: {', '.join(failures)}")
        return 1
    print("\nall targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
