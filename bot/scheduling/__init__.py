"""The clock: scheduled jobs, their schedules and the runs that keep each one safe."""
