using MaestroSla.Api.Operations;
using Shouldly;

namespace MaestroSla.Tests.Operations;

[Trait("Category", "Unit")]
public sealed class ConsumerLagTests
{
    [Fact]
    public void lag_is_the_high_watermark_minus_the_stored_offset_summed_over_partitions()
    {
        var lag = ConsumerLag.Sum(
            latest: new Dictionary<int, long> { [0] = 100, [1] = 50 },
            earliest: new Dictionary<int, long> { [0] = 0, [1] = 0 },
            stored: new Dictionary<int, long> { [0] = 90, [1] = 50 });

        lag.ShouldBe(10);
    }

    [Fact]
    public void a_partition_with_no_stored_offset_lags_by_everything_it_still_retains()
    {
        var lag = ConsumerLag.Sum(
            latest: new Dictionary<int, long> { [0] = 100 },
            earliest: new Dictionary<int, long> { [0] = 30 },
            stored: new Dictionary<int, long>());

        lag.ShouldBe(70);
    }

    [Fact]
    public void offsets_deleted_by_retention_before_they_were_read_are_not_lag()
    {
        var lag = ConsumerLag.Sum(
            latest: new Dictionary<int, long> { [0] = 100 },
            earliest: new Dictionary<int, long> { [0] = 80 },
            stored: new Dictionary<int, long> { [0] = 10 });

        lag.ShouldBe(20);
    }

    [Fact]
    public void a_stored_offset_past_the_high_watermark_counts_as_no_lag_rather_than_negative()
    {
        // A topic deleted and created again under the same name starts its offsets at 0 once more.
        var lag = ConsumerLag.Sum(
            latest: new Dictionary<int, long> { [0] = 5, [1] = 10 },
            earliest: new Dictionary<int, long> { [0] = 0, [1] = 0 },
            stored: new Dictionary<int, long> { [0] = 500, [1] = 4 });

        lag.ShouldBe(6);
    }
}
