"""Run folders: a member run (one model of a run holding several) keeps its report under its own name."""
from tinycore.report import MEMBER_REPORT_NAME, REPORT_NAME, RunDir


def test_member_run_report_is_not_a_second_report_json(tmp_path):
    run = RunDir(tmp_path / "run")
    run.update_report(app="t")
    run.member_run("fan").update_report(metrics={"auc": 0.5})
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.json")) == \
        [f"run/fan/{MEMBER_REPORT_NAME}", f"run/{REPORT_NAME}"]


def test_a_member_folder_opened_by_path_reads_its_member_report(tmp_path):
    """`--run RUN/fan` on the command line builds RunDir(path) without knowing it is a member."""
    RunDir(tmp_path).member_run("boards/f412").update_report(metrics={"acc": 0.9})
    assert RunDir(tmp_path / "boards" / "f412").load_report() == {"metrics": {"acc": 0.9}}
    assert RunDir(tmp_path / "plain").report_path.name == REPORT_NAME
