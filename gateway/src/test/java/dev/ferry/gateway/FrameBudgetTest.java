package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link FrameBudget} on its own: the bound, first come first served, hand-over of returned memory, withdrawal. */
class FrameBudgetTest {
    private final List<String> granted = new ArrayList<>();

    /** A waiter that notes its grant. */
    private FrameBudget.Waiter waiter(String name, long bytes) {
        return new FrameBudget.Waiter() {
            @Override
            public long bytes() {
                return bytes;
            }

            @Override
            public void granted() {
                granted.add(name);
            }
        };
    }

    @Test
    void reservationsNeverExceedTheCapacityAndWaitersAreServedInOrder() {
        FrameBudget budget = new FrameBudget(100);
        assertThat(budget.reserve(waiter("a", 60))).isTrue();
        assertThat(budget.reserve(waiter("big", 70))).isFalse();
        // 30 would fit, but "big" came first: a stream of small frames must not starve it
        assertThat(budget.reserve(waiter("small", 30))).isFalse();
        assertThat(budget.reserved()).isEqualTo(60);
        assertThat(budget.waiting()).isEqualTo(2);

        budget.release(60);
        assertThat(granted).containsExactly("big", "small"); // 70 + 30 = 100: both handed their memory
        assertThat(budget.reserved()).isEqualTo(100);
        assertThat(budget.waiting()).isZero();

        budget.release(100);
        assertThat(budget.reserved()).isZero();
    }

    @Test
    void aWithdrawnWaiterIsNeverGrantedAndTheOnesBehindItMove() {
        FrameBudget budget = new FrameBudget(100);
        assertThat(budget.reserve(waiter("a", 90))).isTrue();
        FrameBudget.Waiter gone = waiter("gone", 100);
        assertThat(budget.reserve(gone)).isFalse();
        assertThat(budget.reserve(waiter("next", 10))).isFalse();

        assertThat(budget.withdraw(gone)).as("still waiting: nothing reserved for it").isTrue();
        assertThat(granted).containsExactly("next"); // 90 + 10 fit once the head no longer blocks it
        assertThat(budget.withdraw(gone)).as("no longer queued").isFalse();
        assertThat(budget.reserved()).isEqualTo(100);
    }

    @Test
    void moreThanTheWholeBudgetOrMoreThanReservedIsRefused() {
        FrameBudget budget = new FrameBudget(100);
        assertThatThrownBy(() -> budget.reserve(waiter("x", 101))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> budget.release(1)).isInstanceOf(IllegalStateException.class);
    }
}
