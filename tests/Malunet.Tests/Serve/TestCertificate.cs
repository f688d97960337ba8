using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Malunet.Tests.Serve;

/// <summary>A self-signed certificate for 127.0.0.1, made for one test and written as PEM files (certificate, key).</summary>
public static class TestCertificate
{
    public static (X509Certificate2 Certificate, string CertificatePath, string KeyPath) Write(string folder)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var certPath = Path.Combine(folder, "cert.pem");
        var keyPath = Path.Combine(folder, "key.pem");
        File.WriteAllText(certPath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, rsa.ExportPkcs8PrivateKeyPem());
        return (certificate, certPath, keyPath);
    }

    /// <summary>A client that trusts exactly <paramref name="certificate"/>; <paramref name="seen"/> is told the thumbprint it was shown.</summary>
    public static HttpClient TrustingOnly(X509Certificate2 certificate, Action<string?>? seen = null) =>
        new(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, c, _, _) => { seen?.Invoke(c?.Thumbprint); return c?.Thumbprint == certificate.Thumbprint; } })
        { Timeout = TimeSpan.FromMinutes(2) };
}
