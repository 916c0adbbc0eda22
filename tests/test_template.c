/* The test a new one starts from (tests/README.md): every item exactly once
 * (the sum of the items over the ranks), in every call form. */
#include "test_forms.h"

static int add(long i, void *sum)
{
    __atomic_fetch_add((long *)sum, i, __ATOMIC_RELAXED);
    return 0;
}

int main(int argc, char **argv)
{
    test_begin(&argc, &argv);
    for (int f = 0; f < TEST_FORMS; f++) {
        test_case(test_form_name(f));
        long sum = 0, all = 0;
        ASSERT_OK(test_run_form(f, 1000, add, &sum, NULL, 0));
        ASSERT_MPI(MPI_Allreduce(&sum, &all, 1, MPI_LONG, MPI_SUM, dlp_comm()));
        ASSERT_EQ(all, 1000L * 999 / 2);
    }
    return test_end("test_template");
}
