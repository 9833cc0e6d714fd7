"""监督管理 (REG-16..19, REG-39..42): institutions' workload and deadline compliance, measures and evaluations,
the institution's periodic report, industry departments' view, and statistics disclosure (REG-40)."""
