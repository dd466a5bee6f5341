using System.ComponentModel;
using System.IO.Pipes;
using System.Runtime.InteropServices;

namespace Nixery.Build.Processes;

/// <summary>
/// A child process started with <c>posix_spawn</c> with every signal at its default action and none blocked,
/// whatever this process ignores. .NET ignores SIGPIPE in itself, and <see cref="System.Diagnostics.Process"/>
/// passes ignored signals on to its children; Nix passes them on to the builders it runs, where a pipeline such
/// as <c>yes | head</c> then never ends. Standard input is <c>/dev/null</c>, or a pipe when asked for; standard output
/// and error are pipes.
/// The child leads a process group of its own, so stopping it reaches everything it started.
/// </summary>
internal sealed class SpawnedProcess : IDisposable
{
    private const short PosixSpawnSetProcessGroup = 0x02;
    private const short PosixSpawnSetSignalDefault = 0x04;
    private const short PosixSpawnSetSignalMask = 0x08;
    private const int SignalTerminate = 15;
    private const int SignalKill = 9;
    private const int NoSuchChild = 10; // ECHILD
    private const int Interrupted = 4; // EINTR

    // posix_spawnattr_t, posix_spawn_file_actions_t and sigset_t are opaque: 336, 80 and 128 bytes on glibc,
    // less on musl. Generous buffers fit every libc.
    private const int OpaqueSize = 1024;

    private readonly int _pid;
    private readonly Task<int> _exit;

    private SpawnedProcess(int pid, Stream? standardInput, Stream standardOutput, Stream standardError)
    {
        _pid = pid;
        StandardInput = standardInput;
        StandardOutput = standardOutput;
        StandardError = standardError;
        _exit = Task.Factory.StartNew(WaitForExit, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>The write end of the child's standard input; null when it reads <c>/dev/null</c>.</summary>
    public Stream? StandardInput { get; }

    public Stream StandardOutput { get; }

    public Stream StandardError { get; }

    /// <summary>Starts <paramref name="path"/> (a full path) with this process's environment.</summary>
    /// <param name="pipeInput">Give the child a pipe as standard input (see <see cref="StandardInput"/>) instead of <c>/dev/null</c>.</param>
    public static SpawnedProcess Start(string path, IReadOnlyList<string> arguments, bool pipeInput = false)
    {
        var stdin = pipeInput ? new AnonymousPipeServerStream(PipeDirection.Out, HandleInheritability.None) : null;
        var stdout = new AnonymousPipeServerStream(PipeDirection.In, HandleInheritability.None);
        var stderr = new AnonymousPipeServerStream(PipeDirection.In, HandleInheritability.None);
        var native = new List<IntPtr>();
        var actions = Marshal.AllocHGlobal(OpaqueSize);
        var attributes = Marshal.AllocHGlobal(OpaqueSize);
        var signals = Marshal.AllocHGlobal(OpaqueSize);
        bool actionsReady = false, attributesReady = false;
        try
        {
            Check(posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init");
            actionsReady = true;
            Check(posix_spawnattr_init(attributes), "posix_spawnattr_init");
            attributesReady = true;
            if (stdin is null)
            {
                var devNull = Utf8(native, "/dev/null");
                Check(posix_spawn_file_actions_addopen(actions, 0, devNull, 0, 0), "posix_spawn_file_actions_addopen");
            }
            else
            {
                Check(posix_spawn_file_actions_adddup2(actions, Descriptor(stdin.ClientSafePipeHandle), 0), "posix_spawn_file_actions_adddup2");
            }

            // Both pipe ends are close-on-exec; dup2 gives the child descriptors 1 and 2 without the flag.
            Check(posix_spawn_file_actions_adddup2(actions, Descriptor(stdout.ClientSafePipeHandle), 1), "posix_spawn_file_actions_adddup2");
            Check(posix_spawn_file_actions_adddup2(actions, Descriptor(stderr.ClientSafePipeHandle), 2), "posix_spawn_file_actions_adddup2");

            Check(posix_spawnattr_setflags(attributes, PosixSpawnSetProcessGroup | PosixSpawnSetSignalDefault | PosixSpawnSetSignalMask), "posix_spawnattr_setflags");
            Check(posix_spawnattr_setpgroup(attributes, 0), "posix_spawnattr_setpgroup");
            Check(sigfillset(signals) == 0 ? 0 : Marshal.GetLastPInvokeError(), "sigfillset");
            Check(posix_spawnattr_setsigdefault(attributes, signals), "posix_spawnattr_setsigdefault");
            Check(sigemptyset(signals) == 0 ? 0 : Marshal.GetLastPInvokeError(), "sigemptyset");
            Check(posix_spawnattr_setsigmask(attributes, signals), "posix_spawnattr_setsigmask");

            var argv = NullTerminated(native, [path, .. arguments]);
            var environment = System.Environment.GetEnvironmentVariables();
            var envp = NullTerminated(native, environment.Keys.Cast<string>().Order(StringComparer.Ordinal).Select(k => $"{k}={environment[k]}").ToList());
            var error = posix_spawn(out var pid, Utf8(native, path), actions, attributes, argv, envp);
            if (error != 0)
            {
                throw new Win32Exception(error, $"Could not start '{path}': {new Win32Exception(error).Message}");
            }

            stdin?.DisposeLocalCopyOfClientHandle();
            stdout.DisposeLocalCopyOfClientHandle();
            stderr.DisposeLocalCopyOfClientHandle();
            return new SpawnedProcess(pid, stdin, stdout, stderr);
        }
        catch
        {
            stdin?.Dispose();
            stdout.Dispose();
            stderr.Dispose();
            throw;
        }
        finally
        {
            if (actionsReady)
            {
                _ = posix_spawn_file_actions_destroy(actions);
            }

            if (attributesReady)
            {
                _ = posix_spawnattr_destroy(attributes);
            }

            Marshal.FreeHGlobal(actions);
            Marshal.FreeHGlobal(attributes);
            Marshal.FreeHGlobal(signals);
            foreach (var pointer in native)
            {
                Marshal.FreeHGlobal(pointer);
            }
        }
    }

    /// <summary>The exit code (128 + N when signal N ended it).</summary>
    public Task<int> Exited => _exit;

    /// <summary>
    /// Asks the process and its group to stop (SIGTERM: Nix then stops its builders and exits) and kills them
    /// when the process has not ended after <paramref name="grace"/>.
    /// </summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_exit.IsCompleted)
        {
            return;
        }

        _ = kill(-_pid, SignalTerminate);
        if (await Task.WhenAny(_exit, Task.Delay(grace)) != _exit)
        {
            _ = kill(-_pid, SignalKill);
            await _exit;
        }
    }

    public void Dispose()
    {
        StandardInput?.Dispose();
        StandardOutput.Dispose();
        StandardError.Dispose();
    }

    private int WaitForExit()
    {
        while (true)
        {
            if (waitpid(_pid, out var status, 0) == _pid)
            {
                // WIFEXITED: the low 7 bits are 0 and the code is in bits 8-15; else the low 7 bits are the signal.
                var signal = status & 0x7f;
                return signal == 0 ? (status >> 8) & 0xff : 128 + signal;
            }

            var error = Marshal.GetLastPInvokeError();
            if (error == Interrupted)
            {
                continue;
            }

            // ECHILD: someone else reaped it (a runtime that reaps every child when SIGCHLD was ignored at start).
            return error == NoSuchChild ? -1 : throw new Win32Exception(error, "waitpid failed");
        }
    }

    private static int Descriptor(SafeHandle handle) => (int)handle.DangerousGetHandle();

    private static void Check(int error, string function)
    {
        if (error != 0)
        {
            throw new Win32Exception(error, $"{function} failed: {new Win32Exception(error).Message}");
        }
    }

    private static IntPtr Utf8(List<IntPtr> native, string value)
    {
        var pointer = Marshal.StringToCoTaskMemUTF8(value);
        native.Add(pointer);
        return pointer;
    }

    private static IntPtr NullTerminated(List<IntPtr> native, List<string> values)
    {
        var array = Marshal.AllocHGlobal(IntPtr.Size * (values.Count + 1));
        native.Add(array);
        for (var i = 0; i < values.Count; i++)
        {
            Marshal.WriteIntPtr(array, i * IntPtr.Size, Utf8(native, values[i]));
        }

        Marshal.WriteIntPtr(array, values.Count * IntPtr.Size, IntPtr.Zero);
        return array;
    }

    [DllImport("libc")]
    private static extern int posix_spawn(out int pid, IntPtr path, IntPtr fileActions, IntPtr attributes, IntPtr argv, IntPtr envp);

    [DllImport("libc")]
    private static extern int posix_spawn_file_actions_init(IntPtr fileActions);

    [DllImport("libc")]
    private static extern int posix_spawn_file_actions_destroy(IntPtr fileActions);

    [DllImport("libc")]
    private static extern int posix_spawn_file_actions_adddup2(IntPtr fileActions, int descriptor, int newDescriptor);

    [DllImport("libc")]
    private static extern int posix_spawn_file_actions_addopen(IntPtr fileActions, int descriptor, IntPtr path, int flags, int mode);

    [DllImport("libc")]
    private static extern int posix_spawnattr_init(IntPtr attributes);

    [DllImport("libc")]
    private static extern int posix_spawnattr_destroy(IntPtr attributes);

    [DllImport("libc")]
    private static extern int posix_spawnattr_setflags(IntPtr attributes, short flags);

    [DllImport("libc")]
    private static extern int posix_spawnattr_setpgroup(IntPtr attributes, int processGroup);

    [DllImport("libc")]
    private static extern int posix_spawnattr_setsigdefault(IntPtr attributes, IntPtr signals);

    [DllImport("libc")]
    private static extern int posix_spawnattr_setsigmask(IntPtr attributes, IntPtr signals);

    [DllImport("libc", SetLastError = true)]
    private static extern int sigfillset(IntPtr signals);

    [DllImport("libc", SetLastError = true)]
    private static extern int sigemptyset(IntPtr signals);

    [DllImport("libc", SetLastError = true)]
    private static extern int waitpid(int pid, out int status, int options);

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
