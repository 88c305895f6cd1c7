"""Raw measurements to ratios, target checks, bench/RESULTS.md and the chart."""
