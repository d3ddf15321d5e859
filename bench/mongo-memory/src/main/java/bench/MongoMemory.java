package bench;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;

/**
 * Benchmark-only stand-in for MongoDB (bench/sip/run.ts --store memory): mongo-java-server with
 * its in-memory backend, listening on 127.0.0.1:&lt;port&gt; until the process is killed.
 * No durability, not MongoDB. See README.md.
 *
 *   java -jar target/mongo-memory.jar <port> [host] [--exit-on-stdin-eof]
 *
 * --exit-on-stdin-eof: also exit when stdin reaches EOF (the parent that holds the pipe is gone),
 * so a crashed benchmark never leaves the server running.
 */
public final class MongoMemory {
    /**
     * mongo-java-server 1.45 only knows ServerVersion.MONGO_3_6 (wire version 6); the Node.js
     * driver 6.x refuses servers below wire version 9 (MongoDB 4.4). Report 4.4 / wire 9: the
     * commands the engine sends (OP_MSG find/insert/update/aggregate/createIndexes/…) are served
     * the same way; nothing else changes.
     */
    private static final MongoVersion REPORTED_VERSION = new MongoVersion() {
        @Override
        public java.util.List<Integer> getVersionArray() {
            return java.util.List.of(4, 4, 0);
        }

        @Override
        public int getWireVersion() {
            return 9;
        }
    };

    public static void main(String[] args) throws InterruptedException {
        if (args.length < 1) {
            System.err.println("usage: java -jar mongo-memory.jar <port> [host]");
            System.exit(2);
        }
        int port = Integer.parseInt(args[0]);
        String host = args.length > 1 && !args[1].startsWith("--") ? args[1] : "127.0.0.1";
        boolean exitOnEof = java.util.Arrays.asList(args).contains("--exit-on-stdin-eof");
        MongoServer server = new MongoServer(new MemoryBackend().version(REPORTED_VERSION));
        server.bind(host, port);
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow, "mongo-memory-shutdown"));
        System.out.println("mongo-memory listening on " + host + ":" + port);
        System.out.flush();
        if (exitOnEof) {
            Thread watchdog = new Thread(() -> {
                try {
                    while (System.in.read() >= 0) {
                        // discard
                    }
                } catch (java.io.IOException ignored) {
                    // treat like EOF
                }
                System.exit(0);
            }, "mongo-memory-stdin-watchdog");
            watchdog.setDaemon(true);
            watchdog.start();
        }
        Thread.currentThread().join(); // block until killed
    }
}
