package dev.tierserve.gateway;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Structure;

/**
 * The C allocator's own account of this process (glibc's {@code mallinfo2}, Linux): ONNX Runtime allocates a
 * session's weights and its tensors with it. Resident memory also counts what the allocator keeps after a free
 * (fragmentation across its arenas), which rises and falls with the order of loads and is not a leak; the bytes it
 * has handed out and not had back are.
 */
public final class NativeHeap {

    /** {@code struct mallinfo2}: ten {@code size_t} fields, in glibc's order. */
    @Structure.FieldOrder({"arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
            "fordblks", "keepcost"})
    public static final class MallInfo2 extends Structure implements Structure.ByValue {
        public long arena;
        public long ordblks;
        public long smblks;
        public long hblks;
        public long hblkhd;
        public long usmblks;
        public long fsmblks;
        public long uordblks;
        public long fordblks;
        public long keepcost;
    }

    private interface C extends Library {
        MallInfo2 mallinfo2();
    }

    private static final C LIBC = Native.load("c", C.class);

    private NativeHeap() {
    }

    /** Bytes allocated and not freed: in the arenas' chunks plus those mapped on their own. */
    public static long liveBytes() {
        MallInfo2 info = LIBC.mallinfo2();
        return info.uordblks + info.hblkhd;
    }

    /** Bytes the allocator holds from the system: live, and freed but kept in its arenas. */
    public static long heldBytes() {
        MallInfo2 info = LIBC.mallinfo2();
        return info.arena + info.hblkhd;
    }
}
