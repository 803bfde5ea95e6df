using ConnectionTools.Errors;
using ConnectionTools.Hosting;

namespace ConnectionTools.Core.Tests;

public class PerItemTests
{
    [Fact]
    public void An_item_s_failure_is_written_and_the_command_goes_on()
    {
        var host = new RecordingHost();

        PerItem.Run(host, () => throw new ConnectionToolsException(ErrorIds.InvitationMistyped, ErrorKind.InvalidData, "typo"));
        PerItem.Run(host, () => host.WriteObject("second"));

        Assert.Equal(ErrorIds.InvitationMistyped, Assert.Single(host.Errors).ErrorId);
        Assert.Equal("second", Assert.Single(host.Output));
    }

    [Fact]
    public void A_store_failure_ends_the_command()
    {
        var host = new RecordingHost();

        var error = Assert.Throws<ConnectionToolsException>(() =>
            PerItem.Run(host, () => throw new ConnectionToolsException(ErrorIds.StoreBusy, ErrorKind.ResourceBusy, "busy")));

        Assert.Equal(ErrorIds.StoreBusy, error.ErrorId);
        Assert.Empty(host.Errors);
    }
}
