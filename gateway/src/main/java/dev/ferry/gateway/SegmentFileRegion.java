package dev.ferry.gateway;

import dev.ferry.log.ReadResult;
import io.netty.channel.FileRegion;
import io.netty.util.AbstractReferenceCounted;
import java.io.IOException;
import java.nio.channels.WritableByteChannel;

/**
 * One run of stored records as a Netty {@link FileRegion}: the transport copies it from the
 * segment file to the socket with sendfile, so the records never enter the Java heap. Unlike
 * Netty's DefaultFileRegion it does not close the file channel when released: the store owns
 * it, and the {@link ReadResult} that holds the segment open is closed by the writer once the
 * last region is written. Not thread-safe (used by one channel).
 */
final class SegmentFileRegion extends AbstractReferenceCounted implements FileRegion {
    private final ReadResult.Region region;
    private long transferred;

    SegmentFileRegion(ReadResult.Region region) {
        this.region = region;
    }

    @Override
    public long position() {
        return 0;
    }

    @Override
    @Deprecated
    public long transfered() {
        return transferred;
    }

    @Override
    public long transferred() {
        return transferred;
    }

    @Override
    public long count() {
        return region.length();
    }

    @Override
    public long transferTo(WritableByteChannel target, long position) throws IOException {
        long count = region.length() - position;
        if (count <= 0) {
            return 0;
        }
        long n = region.channel().transferTo(region.filePosition() + position, count, target);
        if (n > 0) {
            transferred += n;
        }
        return n;
    }

    @Override
    public FileRegion retain() {
        super.retain();
        return this;
    }

    @Override
    public FileRegion retain(int increment) {
        super.retain(increment);
        return this;
    }

    @Override
    public FileRegion touch() {
        return this;
    }

    @Override
    public FileRegion touch(Object hint) {
        return this;
    }

    @Override
    protected void deallocate() {
        // the ReadResult owns the segment reference; nothing to free per region
    }
}
