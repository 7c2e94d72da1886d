package dev.tierserve.it;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Certificates made by the test (Bouncy Castle), written as PEM: a CA, a server certificate it signed for
 * {@code localhost} and {@code 127.0.0.1}, a client certificate it signed, and a client certificate of another CA
 * that nothing trusts. Keys are PKCS#8 PEM, as the gateway and the worker take them.
 */
record TestCertificates(Path ca, Path serverCert, Path serverKey, Path clientCert, Path clientKey, Path strangerCert,
                        Path strangerKey) {

    private static final AtomicLong SERIAL = new AtomicLong(System.nanoTime());

    static TestCertificates generate(Path dir) throws Exception {
        Files.createDirectories(dir);
        KeyPair caKeys = keys();
        X509CertificateHolder ca = certificate("CN=tierserve test CA", caKeys, "CN=tierserve test CA", caKeys.getPrivate(),
                true, false);
        KeyPair serverKeys = keys();
        X509CertificateHolder server = certificate("CN=localhost", serverKeys, "CN=tierserve test CA",
                caKeys.getPrivate(), false, true);
        KeyPair clientKeys = keys();
        X509CertificateHolder client = certificate("CN=tierserve gateway", clientKeys, "CN=tierserve test CA",
                caKeys.getPrivate(), false, false);
        KeyPair strangerCaKeys = keys();
        KeyPair strangerKeys = keys();
        X509CertificateHolder stranger = certificate("CN=stranger", strangerKeys, "CN=another CA",
                strangerCaKeys.getPrivate(), false, false);
        return new TestCertificates(pem(dir.resolve("ca.pem"), "CERTIFICATE", ca.getEncoded()),
                pem(dir.resolve("server.pem"), "CERTIFICATE", server.getEncoded()),
                key(dir.resolve("server.key"), serverKeys.getPrivate()),
                pem(dir.resolve("client.pem"), "CERTIFICATE", client.getEncoded()),
                key(dir.resolve("client.key"), clientKeys.getPrivate()),
                pem(dir.resolve("stranger.pem"), "CERTIFICATE", stranger.getEncoded()),
                key(dir.resolve("stranger.key"), strangerKeys.getPrivate()));
    }

    private static KeyPair keys() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(256);
        return generator.generateKeyPair();
    }

    private static X509CertificateHolder certificate(String subject, KeyPair keys, String issuer, PrivateKey signer,
                                                     boolean authority, boolean server) throws Exception {
        Instant now = Instant.now();
        JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(new X500Name(issuer),
                BigInteger.valueOf(SERIAL.incrementAndGet()), Date.from(now.minus(Duration.ofHours(1))),
                Date.from(now.plus(Duration.ofDays(1))), new X500Name(subject), keys.getPublic());
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(authority));
        if (authority) {
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        }
        if (server) {
            builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                    new GeneralName(GeneralName.dNSName, "localhost"),
                    new GeneralName(GeneralName.iPAddress, "127.0.0.1")}));
        }
        return builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer));
    }

    /** PKCS#8, the form {@code PrivateKey.getEncoded()} gives. */
    private static Path key(Path file, PrivateKey key) throws Exception {
        return pem(file, "PRIVATE KEY", key.getEncoded());
    }

    private static Path pem(Path file, String type, byte[] der) throws Exception {
        String body = Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der);
        Files.writeString(file, "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n");
        return file;
    }
}
