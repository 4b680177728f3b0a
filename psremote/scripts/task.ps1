# lynctrust: run the change as a one-shot scheduled task under the
# administrator's own account. A WinRM network logon holds no credentials
# for the second hop to the Enterprise Edition SQL back end; the task's batch
# logon does. The task and its files are removed afterwards, whatever happens.
$ErrorActionPreference = 'Stop'
$tab = "`t"
$name = 'lynctrust-' + [guid]::NewGuid().ToString()
$file = $env:TEMP + '\' + $name + '.ps1'
$out = $env:TEMP + '\' + $name + '.txt'
Set-Content -Path $file -Value $inner
try {
    $action = 'cmd.exe /c powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "' + $file + '" > "' + $out + '" 2>&1'
    $created = schtasks.exe /Create /TN $name /TR $action /SC ONCE /ST 00:00 /RU $taskUser /RP $taskPassword /RL HIGHEST /F
    if ($LASTEXITCODE -ne 0) {
        Write-Output (@('LYNCTRUST', 'error', 'task', ('schtasks /Create: ' + ($created -join ' '))) -join $tab)
        exit 8
    }
    schtasks.exe /Run /TN $name | Out-Null
    $waited = 0
    $status = '"Running"'
    while (($status -match '"Running"') -and ($waited -lt 600)) {
        Start-Sleep -Seconds 1
        $waited += 1
        $status = schtasks.exe /Query /TN $name /FO CSV /NH
    }
    foreach ($line in @(Get-Content -Path $out)) {
        if ($line.StartsWith('LYNCTRUST')) {
            Write-Output $line
        } else {
            if ($line.Trim() -ne '') {
                Write-Output (@('LYNCTRUST', 'error', 'task-output', ($line -replace '[\t\r\n]+', ' ')) -join $tab)
            }
        }
    }
} finally {
    schtasks.exe /Delete /TN $name /F | Out-Null
    Remove-Item -Path $file -Force -ErrorAction SilentlyContinue
    Remove-Item -Path $out -Force -ErrorAction SilentlyContinue
}
