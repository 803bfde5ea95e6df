using System;

namespace ConnectionTools.Invitations
{
    /// <summary>Big-endian integers and GUIDs in RFC 4122 order, as the code's bytes hold them.</summary>
    public static partial class InvitationCodec
    {
        private static void WriteUInt16(byte[] buffer, int offset, int value)
        {
            buffer[offset] = (byte)(value >> 8);
            buffer[offset + 1] = (byte)value;
        }

        private static void WriteUInt32(byte[] buffer, int offset, uint value)
        {
            for (var i = 0; i < 4; i++)
            {
                buffer[offset + i] = (byte)(value >> (24 - (8 * i)));
            }
        }

        private static void WriteInt64(byte[] buffer, int offset, long value)
        {
            for (var i = 0; i < 8; i++)
            {
                buffer[offset + i] = (byte)(value >> (56 - (8 * i)));
            }
        }

        private static int ReadUInt16(byte[] buffer, int offset) => (buffer[offset] << 8) | buffer[offset + 1];

        private static uint ReadUInt32(byte[] buffer, int offset)
        {
            uint value = 0;
            for (var i = 0; i < 4; i++)
            {
                value = (value << 8) | buffer[offset + i];
            }

            return value;
        }

        private static long ReadInt64(byte[] buffer, int offset)
        {
            long value = 0;
            for (var i = 0; i < 8; i++)
            {
                value = (value << 8) | buffer[offset + i];
            }

            return value;
        }

        private static void WriteGuid(byte[] buffer, int offset, Guid value)
        {
            var bytes = value.ToByteArray();
            for (var i = 0; i < 16; i++)
            {
                buffer[offset + i] = bytes[GuidNetworkOrder[i]];
            }
        }

        private static Guid ReadGuid(byte[] buffer, int offset)
        {
            var bytes = new byte[16];
            for (var i = 0; i < 16; i++)
            {
                bytes[GuidNetworkOrder[i]] = buffer[offset + i];
            }

            return new Guid(bytes);
        }
    }
}
