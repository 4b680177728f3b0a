# lynctrust: load the Lync or Skype for Business module, once.
# Runs on Windows PowerShell 2.0 (Lync Server 2010) and later: records are
# printed one per line, tab separated, after a fixed prefix.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$tab = "`t"
# What lynctrust's thumbprint command strips from a thumbprint (separators and
# invisible marks): Lync keeps a thumbprint as it was given, so one saved as
# pasted is compared, and looked up in the stores, without them.
$noise = '[ \t:?\-\u00A0\u00AD\u200B-\u200F\u202A-\u202F\u2060-\u2069\uFEFF]'
$lyncModule = $null
foreach ($name in @('SkypeForBusiness', 'Lync')) {
    if ($lyncModule -eq $null) {
        if (Get-Module -ListAvailable -Name $name) {
            Import-Module $name
            $lyncModule = $name
        }
    }
}
if ($lyncModule -eq $null) {
    [Console]::Out.WriteLine('LYNCTRUST' + $tab + 'error' + $tab + 'module-not-found' + $tab + 'neither the SkypeForBusiness nor the Lync module is installed on ' + $env:COMPUTERNAME)
    exit 3
}
# A script that sets $holdModuleRecord prints the module record itself,
# together with its first records.
$moduleRecord = 'LYNCTRUST' + $tab + 'module' + $tab + $lyncModule + $tab + $PSVersionTable.PSVersion.Major
if ($holdModuleRecord -ne $true) {
    [Console]::Out.WriteLine($moduleRecord)
}
