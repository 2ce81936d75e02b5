"""SRAM and Flash: the arena planner (lifetimes, in-place ops, scratch), Flash accounting, profiles and plots."""
from tinycore.memory.flash import FlashReport, flash_bytes, flash_report
from tinycore.memory.graph_plan import ArenaPlan, LayerMemory, check_plan, plan_graph
from tinycore.memory.planner import ALIGN_BYTES, Buffer, Placement, plan_arena
from tinycore.memory.profile import format_memory_table, per_layer_rows
from tinycore.memory.schedule import Schedule, SchedulePlan, Step, check_schedule_plan, plan_schedule
from tinycore.memory.plot import plot_memory_profile

__all__ = ["ArenaPlan", "LayerMemory", "plan_graph", "check_plan", "Buffer", "Placement", "plan_arena",
           "ALIGN_BYTES", "flash_bytes", "flash_report", "FlashReport", "format_memory_table", "per_layer_rows",
           "plot_memory_profile", "Schedule", "SchedulePlan", "Step", "plan_schedule", "check_schedule_plan"]
