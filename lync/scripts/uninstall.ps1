# lynctrust: take out of a LocalMachine store a CA certificate that a change
# put there (rollback), the way a PowerShell 2.0 script can (X509Store Open,
# Certificates, Remove, Close). Nothing else in the store is touched.
$ErrorActionPreference = 'Stop'
$tab = "`t"
$store = New-Object System.Security.Cryptography.X509Certificates.X509Store -ArgumentList $storeName, 'LocalMachine'
$store.Open('ReadWrite')
$state = 'absent'
foreach ($c in @($store.Certificates)) {
    if ($c.Thumbprint -eq $thumbprint) {
        $store.Remove($c)
        $state = 'removed'
    }
}
$store.Close()
[Console]::Out.WriteLine(@('LYNCTRUST', 'uninstalled', $thumbprint, $storeName, $state) -join $tab)
