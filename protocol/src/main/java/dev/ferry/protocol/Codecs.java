package dev.ferry.protocol;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.TreeMap;

/**
 * The codecs a process can speak, by name: the server chooses from it during the
 * {@link Handshake} and the client finds the one the server accepted.
 *
 * <p>Why it exists: {@link ServiceLoader} lookups and the "first of the client's preferences that
 * we support" rule in one place. Immutable after construction, so thread-safe.
 */
public final class Codecs {
    private final TreeMap<String, Codec> byName = new TreeMap<>();

    private Codecs(Collection<? extends Codec> codecs) {
        for (Codec c : codecs) {
            String name = c.name();
            Handshake.checkName(name);
            if (byName.putIfAbsent(name, c) != null) {
                throw new IllegalArgumentException("codec name: '" + name + "' (expected: unique, but "
                        + byName.get(name).getClass().getName() + " and " + c.getClass().getName() + " share it)");
            }
        }
    }

    /** Every codec on the class path of this class's class loader. */
    public static Codecs load() {
        return load(Codecs.class.getClassLoader());
    }

    /** Every codec {@link ServiceLoader} finds through {@code loader}. */
    public static Codecs load(ClassLoader loader) {
        List<Codec> found = new ArrayList<>();
        ServiceLoader.load(Codec.class, loader).forEach(found::add);
        return new Codecs(found);
    }

    /** Exactly the given codecs. */
    public static Codecs of(Codec... codecs) {
        return new Codecs(List.of(codecs));
    }

    /** The codec named {@code name}, if present. */
    public Optional<Codec> find(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    /** The codec named {@code name}; throws {@link IllegalArgumentException} naming the known ones if absent. */
    public Codec get(String name) {
        Codec c = byName.get(name);
        if (c == null) {
            throw new IllegalArgumentException("codec: '" + name + "' (expected: one of " + names() + ")");
        }
        return c;
    }

    /** Names of all codecs, sorted. */
    public List<String> names() {
        return Collections.unmodifiableList(new ArrayList<>(byName.keySet()));
    }

    /** The first codec of {@code preferences} (the client's order) that is present. */
    public Optional<Codec> choose(List<String> preferences) {
        for (String name : preferences) {
            Codec c = byName.get(name);
            if (c != null) {
                return Optional.of(c);
            }
        }
        return Optional.empty();
    }

    @Override
    public String toString() {
        return "Codecs" + names();
    }
}
