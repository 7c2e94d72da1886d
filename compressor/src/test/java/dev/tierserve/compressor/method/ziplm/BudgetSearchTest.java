package dev.tierserve.compressor.method.ziplm;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class BudgetSearchTest {

    @Test
    void aShortfallTightensTheBudgetByTheMiss() {
        BudgetSearch budgets = new BudgetSearch(2.0, 40.0);
        budgets.measured(1.9);
        assertEquals(40.0 * 1.9 / 2.0 * 0.99, budgets.budget(), 1e-12);
    }

    @Test
    void anOvershootLoosensItAndThenTheSearchBisects() {
        BudgetSearch budgets = new BudgetSearch(1.5, 60.0);
        budgets.measured(1.62);
        double loosened = 60.0 * 1.62 / 1.5 * 0.99;
        assertEquals(loosened, budgets.budget(), 1e-12);
        budgets.measured(1.45);
        assertEquals((60.0 + loosened) / 2, budgets.budget(), 1e-12);
        budgets.measured(1.53);
        double middle = (60.0 + loosened) / 2;
        assertEquals((middle + loosened) / 2, budgets.budget(), 1e-12, "the larger reaching budget bounds it now");
    }

    @Test
    void aBracketNarrowerThanTheTimerResolvesReturnsToTheReachingBudget() {
        BudgetSearch budgets = new BudgetSearch(2.0, 31.95);
        budgets.measured(2.07);
        double loosened = 31.95 * 2.07 / 2.0 * 0.99;
        assertEquals(loosened, budgets.budget(), 1e-12);
        budgets.measured(1.97);
        double middle = (31.95 + loosened) / 2;
        assertEquals(middle, budgets.budget(), 1e-12, "2.5% apart: bisected");
        budgets.measured(1.98);
        assertEquals(31.95, budgets.budget(), 1e-12, "1.2% apart: the reaching budget again");
        budgets.measured(2.03);
        assertEquals(31.95, budgets.budget(), 1e-12, "still bracketed by the same two");
    }
}
