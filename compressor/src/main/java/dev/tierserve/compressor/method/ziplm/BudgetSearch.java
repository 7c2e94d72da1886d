package dev.tierserve.compressor.method.ziplm;

import java.util.ArrayList;
import java.util.List;

/**
 * The time budget ZipLM searches with for one speedup target. The component table's prediction is only a start:
 * each measured variant moves the budget, scaled by the miss (tightened when short, loosened when well over)
 * until one budget is known to reach the target and a larger one to miss it, then bisected between the two. Once
 * the two are closer than {@link #RESOLUTION}, the timer cannot tell budgets between them apart, so the search
 * returns to the reaching budget (searched again from the latest error weights, its plan is usually better).
 */
final class BudgetSearch {

    /**
     * Relative gap under which two budgets are not told apart by timing. On BGE-small at 2x, plans from four budgets
     * within 1% of each other measured 1.960x to 1.999x, and the parent alone 65.6 to 73.1 ms from one comparison to
     * the next.
     */
    static final double RESOLUTION = 0.02;

    private final double target;
    private double budget;
    private final List<Double> reaching = new ArrayList<>();
    private double missing = Double.NaN;

    BudgetSearch(double target, double initialBudget) {
        this.target = target;
        this.budget = initialBudget;
    }

    /** The budget to search with now, in ms for the prunable blocks. */
    double budget() {
        return budget;
    }

    /** Records the measured speedup of the current budget's variant and moves to the next budget. */
    void measured(double speedup) {
        if (speedup >= target) {
            reaching.add(budget);
        } else {
            missed(budget);
        }
        double scaled = budget * speedup / target * 0.99;
        budget = Double.isNaN(missing) ? scaled : Math.min(scaled, missing * 0.99);
        bisectIfBracketed();
    }

    private void missed(double value) {
        missing = Double.isNaN(missing) ? value : Math.min(missing, value);
    }

    private void bisectIfBracketed() {
        double largestReaching = reaching.stream().mapToDouble(Double::doubleValue).filter(b -> b < missing)
                .max().orElse(Double.NaN);
        if (!Double.isNaN(largestReaching) && !Double.isNaN(missing)) {
            budget = missing - largestReaching < RESOLUTION * largestReaching ? largestReaching
                    : (largestReaching + missing) / 2;
        }
    }
}
