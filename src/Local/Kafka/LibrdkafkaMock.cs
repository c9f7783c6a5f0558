using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Confluent.Kafka;

namespace MaestroSla.Local.Kafka;

/// <summary>
/// The few librdkafka C functions that Confluent.Kafka does not wrap: a bare native client whose
/// only job is to host a mock cluster, and mock topic creation with a chosen partition count.
/// </summary>
/// <remarks>
/// <para>
/// Owning the hosting client natively (instead of using a Confluent.Kafka producer) means we never
/// need its <c>rd_kafka_t*</c>, which Confluent.Kafka only exposes through non-public members.
/// </para>
/// <para>
/// The mock API is experimental and outside librdkafka's ABI guarantees (rdkafka_mock.h), so the
/// signatures below were checked against the headers shipped in librdkafka.redist 2.16.0: re-check
/// them whenever Confluent.Kafka is upgraded.
/// </para>
/// <para>
/// Delegates rather than <c>delegate* unmanaged</c> keep the project free of unsafe code; every call
/// here is a cold path.
/// </para>
/// </remarks>
internal static class LibrdkafkaMock
{
    private const int RdKafkaProducer = 0;
    private const int RdKafkaConfOk = 0;
    private const int ErrorStringSize = 512;

    private static readonly Lazy<Exports> Native = new(Bind);

    /// <summary>Creates a native client with an in-process mock cluster of <paramref name="brokers"/> brokers.</summary>
    public static MockClusterClientHandle StartCluster(int brokers)
    {
        var native = Native.Value;
        var conf = native.ConfNew();
        var errstr = new byte[ErrorStringSize];
        try
        {
            Set(native, conf, "test.mock.num.brokers", brokers.ToString(CultureInfo.InvariantCulture), errstr);
            Set(native, conf, "client.id", "maestrosla-mock-cluster", errstr);
            // The only notice this client logs is "Mock cluster enabled ... replaced with ...":
            // callers get that address from BootstrapServers, and warnings still reach stderr.
            Set(native, conf, "log_level", "4", errstr);
        }
        catch
        {
            native.ConfDestroy(conf);
            throw;
        }

        // rd_kafka_new takes ownership of conf only when it succeeds.
        var rk = native.New(RdKafkaProducer, conf, errstr, (nuint)errstr.Length);
        if (rk == IntPtr.Zero)
        {
            native.ConfDestroy(conf);
            throw new InvalidOperationException($"librdkafka could not start a mock cluster with {brokers} broker(s): {Text(errstr)}");
        }

        return new MockClusterClientHandle(rk);
    }

    /// <summary>The cluster's "127.0.0.1:PORT[,...]" list, one entry per broker.</summary>
    public static string Bootstraps(MockClusterClientHandle client)
    {
        var native = Native.Value;
        var bootstraps = native.MockClusterBootstraps(Cluster(native, client));
        return Marshal.PtrToStringUTF8(bootstraps)
            ?? throw new InvalidOperationException("librdkafka returned no bootstrap servers for the mock cluster.");
    }

    /// <summary>Creates a topic directly in the mock cluster's state; blocks until the cluster thread has done it.</summary>
    public static ErrorCode CreateTopic(MockClusterClientHandle client, string topic, int partitions, int replicationFactor)
    {
        var native = Native.Value;
        return native.MockTopicCreate(Cluster(native, client), topic, partitions, replicationFactor);
    }

    internal static void Destroy(IntPtr rk) => Native.Value.Destroy(rk);

    private static IntPtr Cluster(Exports native, MockClusterClientHandle client)
    {
        var cluster = native.HandleMockCluster(client);
        return cluster != IntPtr.Zero
            ? cluster
            : throw new InvalidOperationException("The librdkafka client hosts no mock cluster (test.mock.num.brokers was not applied).");
    }

    private static void Set(Exports native, IntPtr conf, string name, string value, byte[] errstr)
    {
        if (native.ConfSet(conf, name, value, errstr, (nuint)errstr.Length) != RdKafkaConfOk)
        {
            throw new InvalidOperationException($"librdkafka rejected {name}={value}: {Text(errstr)}");
        }
    }

    private static string Text(byte[] nulTerminated)
    {
        var length = Array.IndexOf(nulTerminated, (byte)0);
        return Encoding.UTF8.GetString(nulTerminated, 0, length < 0 ? nulTerminated.Length : length);
    }

    private static Exports Bind()
    {
        // Confluent.Kafka picks its native file on first use; make that happen now so the file we
        // resolve below is one the process has already loaded, not a second copy.
        Library.Load();

        foreach (var name in NamesConfluentProbes())
        {
            // Same name, same requesting assembly and default search paths as Confluent.Kafka's
            // [DllImport]s, so the runtime resolves the same file (on Debian 12 librdkafka.so lacks
            // libsasl2.so.3 for both of us, and both fall back to centos8-librdkafka.so).
            if (!NativeLibrary.TryLoad(name, typeof(Library).Assembly, null, out var library))
            {
                continue;
            }

            var exports = new Exports(library, name);
            var version = exports.Version();
            if (version != Library.Version)
            {
                throw new InvalidOperationException(
                    $"Resolved '{name}' as librdkafka {version:x}, but Confluent.Kafka runs {Library.VersionString} ({Library.Version:x}): " +
                    "the mock cluster would be driven by a different librdkafka than the clients talking to it.");
            }

            return exports;
        }

        throw new DllNotFoundException(
            $"None of {string.Join(", ", NamesConfluentProbes())} could be loaded the way Confluent.Kafka loads librdkafka.");
    }

    // Mirrors the order in Confluent.Kafka's LibRdKafka.LoadLinuxDelegates (2.16.0): Alpine gets its
    // musl build, other Linux tries the GSSAPI build first and then the one without.
    private static string[] NamesConfluentProbes()
    {
        if (!OperatingSystem.IsLinux())
        {
            return ["librdkafka"];
        }

        return IsAlpine() ? ["alpine-librdkafka"] : ["librdkafka", "centos8-librdkafka"];
    }

    private static bool IsAlpine()
    {
        const string osRelease = "/etc/os-release";
        if (!File.Exists(osRelease))
        {
            return false;
        }

        foreach (var line in File.ReadLines(osRelease))
        {
            if (line.StartsWith("ID=", StringComparison.Ordinal))
            {
                return line.AsSpan(3).Trim("\"'").SequenceEqual("alpine");
            }
        }

        return false;
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int VersionFn();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr ConfNewFn();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int ConfSetFn(
        IntPtr conf,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string name,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string value,
        [In, Out] byte[] errstr,
        nuint errstrSize);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void ConfDestroyFn(IntPtr conf);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr NewFn(int type, IntPtr conf, [In, Out] byte[] errstr, nuint errstrSize);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void DestroyFn(IntPtr rk);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr HandleMockClusterFn(MockClusterClientHandle rk);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr MockClusterBootstrapsFn(IntPtr mcluster);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate ErrorCode MockTopicCreateFn(
        IntPtr mcluster,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string topic,
        int partitionCount,
        int replicationFactor);

    private sealed class Exports(IntPtr library, string libraryName)
    {
        public VersionFn Version { get; } = Get<VersionFn>(library, libraryName, "rd_kafka_version");
        public ConfNewFn ConfNew { get; } = Get<ConfNewFn>(library, libraryName, "rd_kafka_conf_new");
        public ConfSetFn ConfSet { get; } = Get<ConfSetFn>(library, libraryName, "rd_kafka_conf_set");
        public ConfDestroyFn ConfDestroy { get; } = Get<ConfDestroyFn>(library, libraryName, "rd_kafka_conf_destroy");
        public NewFn New { get; } = Get<NewFn>(library, libraryName, "rd_kafka_new");
        public DestroyFn Destroy { get; } = Get<DestroyFn>(library, libraryName, "rd_kafka_destroy");
        public HandleMockClusterFn HandleMockCluster { get; } = Get<HandleMockClusterFn>(library, libraryName, "rd_kafka_handle_mock_cluster");
        public MockClusterBootstrapsFn MockClusterBootstraps { get; } = Get<MockClusterBootstrapsFn>(library, libraryName, "rd_kafka_mock_cluster_bootstraps");
        public MockTopicCreateFn MockTopicCreate { get; } = Get<MockTopicCreateFn>(library, libraryName, "rd_kafka_mock_topic_create");

        private static T Get<T>(IntPtr library, string libraryName, string symbol)
            where T : Delegate
        {
            return NativeLibrary.TryGetExport(library, symbol, out var address)
                ? Marshal.GetDelegateForFunctionPointer<T>(address)
                : throw new EntryPointNotFoundException(
                    $"'{libraryName}' has no {symbol}; the librdkafka mock API is experimental and may have changed in this version.");
        }
    }
}

/// <summary>Owns the native client hosting a mock cluster: releasing it stops the cluster.</summary>
internal sealed class MockClusterClientHandle : SafeHandle
{
    public MockClusterClientHandle(IntPtr rk)
        : base(IntPtr.Zero, ownsHandle: true) => SetHandle(rk);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        LibrdkafkaMock.Destroy(handle);
        return true;
    }
}
