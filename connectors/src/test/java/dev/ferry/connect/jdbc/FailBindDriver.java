package dev.ferry.connect.jdbc;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.DriverManager;
import java.sql.DriverPropertyInfo;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Properties;
import java.util.logging.Logger;

/**
 * A JDBC driver for tests: {@code jdbc:failbind:REST} opens {@code jdbc:REST} and refuses to
 * bind the text {@link #REFUSED} (SQL state 22000, as a driver refusing a value would), after the
 * parameters before it were bound. Registered on first use of the class.
 */
final class FailBindDriver implements Driver {
    static final String PREFIX = "jdbc:failbind:";
    static final String REFUSED = "refused-by-bind";

    static {
        try {
            DriverManager.registerDriver(new FailBindDriver());
        } catch (SQLException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** {@code jdbcUrl} opened through this driver (which this call registers). */
    static String wrap(String jdbcUrl) {
        return PREFIX + jdbcUrl.substring("jdbc:".length());
    }

    @Override
    public Connection connect(String url, Properties info) throws SQLException {
        if (!acceptsURL(url)) {
            return null;
        }
        Connection real = DriverManager.getConnection("jdbc:" + url.substring(PREFIX.length()), info);
        return proxy(Connection.class, real, (method, args) -> {
            Object result = method.invoke(real, args);
            if (method.getName().equals("prepareStatement") && result instanceof PreparedStatement ps) {
                return proxy(PreparedStatement.class, ps, (m, a) -> {
                    if ((m.getName().equals("setObject") || m.getName().equals("setString")) && a.length >= 2 && REFUSED.equals(a[1])) {
                        throw new SQLException("cannot bind " + REFUSED, "22000");
                    }
                    return m.invoke(ps, a);
                });
            }
            return result;
        });
    }

    private interface Call {
        Object call(java.lang.reflect.Method method, Object[] args) throws Throwable;
    }

    private static <T> T proxy(Class<T> type, T target, Call call) {
        InvocationHandler h = (p, method, args) -> {
            try {
                return call.call(method, args == null ? new Object[0] : args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        };
        return type.cast(Proxy.newProxyInstance(FailBindDriver.class.getClassLoader(), new Class<?>[] {type}, h));
    }

    @Override
    public boolean acceptsURL(String url) {
        return url.startsWith(PREFIX);
    }

    @Override
    public DriverPropertyInfo[] getPropertyInfo(String url, Properties info) {
        return new DriverPropertyInfo[0];
    }

    @Override
    public int getMajorVersion() {
        return 1;
    }

    @Override
    public int getMinorVersion() {
        return 0;
    }

    @Override
    public boolean jdbcCompliant() {
        return false;
    }

    @Override
    public Logger getParentLogger() {
        return Logger.getGlobal();
    }
}
